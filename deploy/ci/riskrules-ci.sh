#!/usr/bin/env bash
# riskrules rule-pack CI, for any CI system: check, test and impact analysis of a rule change.
#
#   1. riskrules check --strict --base $BASE_REF      (every error and warning fails; W050 when
#                                                     the rules changed and the version did not)
#   2. riskrules test --coverage --min-coverage 100   (JUnit XML in $REPORT_DIR)
#   3. riskrules diff --base $BASE_REF --head $RULES_DIR $CORPUS --format markdown
#      and the Markdown posted as a pull-request comment (updated in place on later pushes)
#
# Run from the repository root, with riskrules installed (pip install .). Settings:
#   RISKRULES        command to run                       (default: riskrules)
#   RULES_DIR        the pack under review                (default: rules)
#   CORPUS           proposals to score under both packs  (default: examples/)
#   BASE_REF         git revision of the base pack        (default: origin/$GITHUB_BASE_REF,
#                                                          else origin/main)
#   REPORT_DIR       where reports are written            (default: reports)
#   FAIL_ON_DECISION_CHANGE=1  fail the job when a decision changes (default: report only)
#   ALLOW_SAMPLE_LISTS=1  accept watchlists marked `sample: true` (a demonstration pack);
#                         by default they fail the check (W040), as a production pack must
#   Posting the comment (skipped when unset): PR_NUMBER (default: from GITHUB_REF
#   refs/pull/N/merge), GITHUB_REPOSITORY (owner/name), and `gh` logged in (GH_TOKEN) or
#   GITHUB_TOKEN for the REST API; GITHUB_API_URL for GitHub Enterprise.
#
# Exit status: the worst of the steps (check/test/diff failures are 1, usage errors 2).
# A comment that cannot be posted (e.g. a read-only token on a fork) is a warning only.
set -uo pipefail

RISKRULES=${RISKRULES:-riskrules}
RULES_DIR=${RULES_DIR:-rules}
CORPUS=${CORPUS:-examples/}
REPORT_DIR=${REPORT_DIR:-reports}
FAIL_ON_DECISION_CHANGE=${FAIL_ON_DECISION_CHANGE:-0}
MARKER='<!-- riskrules-diff -->'
if [[ -z "${BASE_REF:-}" ]]; then
  if [[ -n "${GITHUB_BASE_REF:-}" ]]; then BASE_REF="origin/${GITHUB_BASE_REF}"; else BASE_REF=origin/main; fi
fi
if [[ -z "${PR_NUMBER:-}" && "${GITHUB_REF:-}" =~ ^refs/pull/([0-9]+)/ ]]; then
  PR_NUMBER=${BASH_REMATCH[1]}
fi

mkdir -p "$REPORT_DIR"
status=0
worst() { if (( $1 > status )); then status=$1; fi; }
step() { echo "+ $*" >&2; }

# The base revision must exist locally: shallow clones (actions/checkout's default) lack it.
if ! git rev-parse --verify --quiet "${BASE_REF}^{commit}" >/dev/null; then
  if [[ "$BASE_REF" == origin/* ]]; then
    branch=${BASE_REF#origin/}
    git fetch --no-tags --depth=1 origin "+refs/heads/${branch}:refs/remotes/origin/${branch}" >&2 || true
  fi
fi

check_flags=(--strict)
if [[ "${ALLOW_SAMPLE_LISTS:-}" == 1 ]]; then check_flags+=(--allow-sample-lists); fi
# W050: rules changed against the base branch but pack.yaml's version was not bumped.
if git rev-parse --verify --quiet "${BASE_REF}^{commit}" >/dev/null; then check_flags+=(--base "$BASE_REF"); fi
step "$RISKRULES --rules $RULES_DIR check ${check_flags[*]}"
"$RISKRULES" --rules "$RULES_DIR" check "${check_flags[@]}"
worst $?

step "$RISKRULES --rules $RULES_DIR test --coverage --min-coverage 100"
"$RISKRULES" --rules "$RULES_DIR" test --coverage --min-coverage 100 \
  --junit-xml "$REPORT_DIR/rule-tests.xml"
worst $?

diff_args=(diff --base "$BASE_REF" --head "$RULES_DIR" "$CORPUS" --format markdown --progress)
if [[ "$FAIL_ON_DECISION_CHANGE" == 1 ]]; then diff_args+=(--fail-on-decision-change); fi
step "$RISKRULES ${diff_args[*]}"
"$RISKRULES" --rules "$RULES_DIR" "${diff_args[@]}" > "$REPORT_DIR/diff.md"
diff_status=$?
worst "$diff_status"
cat "$REPORT_DIR/diff.md"
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then cat "$REPORT_DIR/diff.md" >> "$GITHUB_STEP_SUMMARY"; fi

post_with_gh() {  # update the previous riskrules comment if there is one, else add one
  local id
  id=$(gh api "repos/${GITHUB_REPOSITORY}/issues/${PR_NUMBER}/comments" --paginate \
         --jq ".[] | select(.body | contains(\"${MARKER}\")) | .id" | tail -n 1) || return 1
  if [[ -n "$id" ]]; then
    gh api --method PATCH "repos/${GITHUB_REPOSITORY}/issues/comments/${id}" \
      -F "body=@$REPORT_DIR/diff.md" >/dev/null
  else
    gh pr comment "$PR_NUMBER" --repo "$GITHUB_REPOSITORY" --body-file "$REPORT_DIR/diff.md"
  fi
}

post_with_curl() {  # the same through the REST API with GITHUB_TOKEN
  local api=${GITHUB_API_URL:-https://api.github.com} auth id payload
  auth="Authorization: Bearer ${GITHUB_TOKEN}"
  id=$(curl -fsSL -H "$auth" -H "Accept: application/vnd.github+json" \
         "$api/repos/${GITHUB_REPOSITORY}/issues/${PR_NUMBER}/comments?per_page=100" |
       python3 -c 'import json,sys; m=sys.argv[1]; ids=[c["id"] for c in json.load(sys.stdin) if m in (c.get("body") or "")]; print(ids[-1] if ids else "")' "$MARKER") || return 1
  payload=$(python3 -c 'import json,sys; print(json.dumps({"body": open(sys.argv[1], encoding="utf-8").read()}))' "$REPORT_DIR/diff.md") || return 1
  if [[ -n "$id" ]]; then
    curl -fsSL -X PATCH -H "$auth" -H "Accept: application/vnd.github+json" \
      "$api/repos/${GITHUB_REPOSITORY}/issues/comments/${id}" --data-binary "$payload" >/dev/null
  else
    curl -fsSL -X POST -H "$auth" -H "Accept: application/vnd.github+json" \
      "$api/repos/${GITHUB_REPOSITORY}/issues/${PR_NUMBER}/comments" --data-binary "$payload" >/dev/null
  fi
}

# Post only a real report (exit 0 or 1); a usage error leaves nothing worth commenting.
if (( diff_status <= 1 )) && [[ -s "$REPORT_DIR/diff.md" && -n "${PR_NUMBER:-}" && -n "${GITHUB_REPOSITORY:-}" ]]; then
  if command -v gh >/dev/null 2>&1 && [[ -n "${GH_TOKEN:-}${GITHUB_TOKEN:-}" ]]; then
    post_with_gh || echo "riskrules-ci: warning: could not post the diff comment with gh" >&2
  elif [[ -n "${GITHUB_TOKEN:-}" ]]; then
    post_with_curl || echo "riskrules-ci: warning: could not post the diff comment" >&2
  else
    echo "riskrules-ci: no GH_TOKEN/GITHUB_TOKEN: the diff is in $REPORT_DIR/diff.md, not posted" >&2
  fi
fi

exit "$status"
