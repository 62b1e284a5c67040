"""`riskrules keys`: create API keys (printed once, stored hashed) and list the configured ones."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cli.common import print_help_of
from cli.serve import DEFAULT_KEYS_FILE


def _keys_file(given: str | None) -> str:
    return given or os.environ.get("RISKRULES_KEYS_FILE") or DEFAULT_KEYS_FILE


def register(subparsers: Any) -> None:
    from api.auth import ROLES

    parser = subparsers.add_parser("keys", help="manage API keys",
                                   description="Manage the API keys of `riskrules serve`.")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    create = sub.add_parser("create", help="create a key: prints it once, stores its hash")
    create.add_argument("--role", action="append", choices=ROLES, required=True,
                        help="a role of the key (repeat for several)")
    create.add_argument("--id", dest="key_id", metavar="NAME",
                        help="the key's public id (default: generated)")
    create.add_argument("--keys-file", metavar="FILE",
                        help=f"default $RISKRULES_KEYS_FILE or ./{DEFAULT_KEYS_FILE}")
    create.add_argument("--hash", choices=("sha256", "scrypt"), default="sha256",
                        help="at-rest hash (default sha256: keys are 256-bit random)")
    create.set_defaults(func=handle_create)
    listing = sub.add_parser("list", help="list key ids and roles (never the keys)")
    listing.add_argument("--keys-file", metavar="FILE")
    listing.set_defaults(func=handle_list)
    parser.set_defaults(func=lambda args: print_help_of(parser))



def handle_create(args: argparse.Namespace) -> int:
    import secrets

    from api.auth import ApiKey, append_key, generate_key, hash_key
    from api.errors import ConfigError

    path = _keys_file(args.keys_file)
    key_id = args.key_id or f"key-{secrets.token_hex(4)}"
    secret = generate_key()
    try:
        append_key(path, ApiKey(key_id, hash_key(secret, args.hash), frozenset(args.role)))
    except ConfigError as error:
        print(f"riskrules keys create: {error.detail}", file=sys.stderr)
        return 2
    print(secret)
    print(f"key {key_id} ({', '.join(sorted(set(args.role)))}) added to {path}; the key above "
          "is shown only this once", file=sys.stderr)
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from api.auth import load_keys
    from api.errors import ConfigError

    path = _keys_file(args.keys_file)
    try:
        keys = load_keys(path)
    except ConfigError as error:
        print(f"riskrules keys list: {error.detail}", file=sys.stderr)
        return 2
    for key in keys:
        print(f"{key.id}\t{','.join(sorted(key.roles))}\t{key.hash.split(':', 1)[0]}")
    return 0
