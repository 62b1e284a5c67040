"""`riskrules keys`: create API keys (printed once, stored hashed), list and revoke them.

The server re-reads the keys file when it changes (api.auth.KeySource), so `revoke` takes
effect within RISKRULES_KEYS_CHECK_INTERVAL seconds (default 1) without SIGHUP or restart.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.settings import DEFAULT_KEYS_FILE
from cli.common import keys_file_to_write as _keys_file
from cli.common import print_help_of


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
    create.add_argument("--mode", type=_mode, metavar="OCTAL",
                        help="permissions of a new keys file (default 0600; 0644 lets a "
                             "container user such as uid 10001 read a file you own)")
    create.set_defaults(func=handle_create)
    listing = sub.add_parser("list", help="list key ids, roles and hash schemes (never the keys)")
    listing.add_argument("--keys-file", metavar="FILE",
                         help=f"default $RISKRULES_KEYS_FILE or ./{DEFAULT_KEYS_FILE}")
    listing.set_defaults(func=handle_list)
    revoke = sub.add_parser(
        "revoke", help="remove keys from the keys file (effective without restart)",
        description="Remove keys by id. A running server re-reads the keys file within "
                    "RISKRULES_KEYS_CHECK_INTERVAL seconds (default 1): the keys stop working "
                    "without SIGHUP. Revoking the last key needs --all, which writes "
                    "`all_revoked: true` (an empty file is refused as a mistake).")
    revoke.add_argument("key_ids", nargs="*", metavar="ID", help="ids of the keys to revoke")
    revoke.add_argument("--all", dest="revoke_all", action="store_true",
                        help="revoke every key: every request needing a key gets 401")
    revoke.add_argument("--keys-file", metavar="FILE",
                        help=f"default $RISKRULES_KEYS_FILE or ./{DEFAULT_KEYS_FILE}")
    revoke.set_defaults(func=handle_revoke)
    parser.set_defaults(func=lambda args: print_help_of(parser))


def _mode(text: str) -> int:
    try:
        value = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an octal mode: {text!r}") from None
    if value & ~0o644 or not value & 0o600 == 0o600:
        raise argparse.ArgumentTypeError("mode must give the owner read and write, and "
                                         "nobody write or execute: 0600, 0640 or 0644")
    return value



def handle_create(args: argparse.Namespace) -> int:
    import secrets

    from api.auth import ApiKey, append_key, generate_key, hash_key, token_for
    from api.errors import ConfigError

    path = _keys_file(args.keys_file)
    key_id = args.key_id or f"key-{secrets.token_hex(4)}"
    secret = generate_key()
    try:
        append_key(path, ApiKey(key_id, hash_key(secret, args.hash), frozenset(args.role)),
                   mode=args.mode)
    except ConfigError as error:
        print(f"riskrules keys create: {error.detail}", file=sys.stderr)
        return 2
    print(token_for(secret, key_id))
    print(f"key {key_id} ({', '.join(sorted(set(args.role)))}) added to {path}; the key above "
          "is shown only this once (lost it? create a new key, then `riskrules keys revoke "
          f"{key_id}`)", file=sys.stderr)
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
    if not keys:
        print(f"riskrules keys list: no keys in {path}", file=sys.stderr)
    return 0


def handle_revoke(args: argparse.Namespace) -> int:
    from api.auth import revoke_keys
    from api.errors import ConfigError

    path = _keys_file(args.keys_file)
    if bool(args.key_ids) == bool(args.revoke_all):
        print("riskrules keys revoke: give the ids of the keys to revoke, or --all",
              file=sys.stderr)
        return 2
    try:
        removed = revoke_keys(path, args.key_ids, revoke_all=args.revoke_all)
    except ConfigError as error:
        print(f"riskrules keys revoke: {error.detail}", file=sys.stderr)
        return 2
    what = "every key" if args.revoke_all else ", ".join(removed)
    print(f"revoked {what} in {path}; a running server stops accepting "
          f"{'them' if len(removed) != 1 else 'it'} within RISKRULES_KEYS_CHECK_INTERVAL "
          "seconds (default 1)", file=sys.stderr)
    return 0
