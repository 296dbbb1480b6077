#!/usr/bin/env bash
# Checks the operations artefacts in ops/ (SPEC §6):
#
#   1. promtool check rules  ops/prometheus/neonhub-alerts.yml
#   2. promtool test rules   ops/prometheus/neonhub-alerts.test.yml
#   3. the Grafana dashboard ops/grafana/neonhub-dashboard.json: valid JSON,
#      uid, datasource variable, a title and unit on every panel, and every
#      PromQL expression referencing only the neonhub_ metrics below;
#      the alert rules may name only those metrics too
#   4. with an exposition file as first argument (the text a real run
#      rendered, e.g. `bench --metrics-out FILE`): `promtool check metrics`,
#      then the contract: neonhub_* families, types, label names, label
#      values and histogram buckets exactly as listed below
#
# Usage (from anywhere; paths are resolved against the repository root):
#   bash ops/check.sh [EXPOSITION_FILE]
#
# promtool comes from $PROMTOOL, the PATH or /usr/bin/promtool; when none is
# found, Debian's `prometheus` package (which ships promtool) is installed
# with apt-get (as root, or through sudo).
#
# Runs every check, then exits non-zero if any of them failed.
set -euo pipefail

metrics_file=""
if [[ $# -ge 1 && -n "$1" ]]; then
    if [[ -f "$1" ]]; then
        metrics_file="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    else
        echo "note: '$1' does not exist; skipping the exposition checks" >&2
    fi
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RULES=ops/prometheus/neonhub-alerts.yml
RULE_TESTS=ops/prometheus/neonhub-alerts.test.yml
DASHBOARD=ops/grafana/neonhub-dashboard.json

failed=()

step() {
    echo
    echo "==> $*"
}

find_promtool() {
    if [[ -n "${PROMTOOL:-}" ]]; then
        echo "$PROMTOOL"
    elif command -v promtool >/dev/null 2>&1; then
        command -v promtool
    elif [[ -x /usr/bin/promtool ]]; then
        echo /usr/bin/promtool
    fi
}

install_promtool() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "promtool is missing and this is not root (and there is no sudo) to install it" >&2
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "promtool is missing and apt-get is not available; set PROMTOOL=/path/to/promtool" >&2
        return 1
    fi
    step "installing promtool (Debian package prometheus)"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
}

promtool_bin="$(find_promtool)"
if [[ -z "$promtool_bin" ]]; then
    install_promtool
    promtool_bin="$(find_promtool)"
fi
if [[ -z "$promtool_bin" || ! -x "$promtool_bin" ]]; then
    echo "promtool not found after installing the prometheus package" >&2
    exit 1
fi
step "promtool: $promtool_bin ($("$promtool_bin" --version 2>&1 | head -n 1))"

step "promtool check rules $RULES"
"$promtool_bin" check rules "$RULES" || failed+=("promtool check rules")

step "promtool test rules $RULE_TESTS"
"$promtool_bin" test rules "$RULE_TESTS" || failed+=("promtool test rules")

step "python3 -m json.tool $DASHBOARD"
if python3 -m json.tool "$DASHBOARD" >/dev/null; then
    echo "  SUCCESS: valid JSON"
else
    failed+=("dashboard JSON")
fi

# The metrics contract (SPEC §6), shared by the dashboard, rule and
# exposition checks. Keep it in step with the service's metrics module.
contract_check() {
    python3 - "$@" <<'PY'
import json
import math
import re
import sys

OPERATIONS = {"SELECT", "INSERT", "UPDATE", "DELETE", "OTHER"}
TABLES = {"users", "accounts", "sessions", "verification_tokens", "campaigns", "agents",
          "agent_executions", "analytics", "ab_tests", "contents", "leads", "trends",
          "design_templates", "seaql_migrations", "other"}
QUERIES = {"users_by_role", "campaigns_by_user_and_status", "agent_performance",
           "campaign_analytics", "analytics_time_series", "high_value_leads",
           "trending_keywords", "content_by_platform_and_status"}
OUTCOMES = {"hit", "miss", "coalesced", "bypass"}
STATES = {"idle", "in_use"}
STATEMENT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                     0.1, 0.25, 0.5, 1, 2.5, 5, 10]
REPOSITORY_BUCKETS = [0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001,
                      0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                      0.5, 1, 2.5, 5]
FEED_LAG_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                    2.5, 5, 10, 30]
STMT = {"operation": OPERATIONS, "table": TABLES}
REPLICAS = {str(i) for i in range(16)}  # a replica's place in NEONHUB_REPLICA_URLS

# family -> (type, {label: allowed values}, buckets or None)
CONTRACT = {
    "neonhub_db_statements_total": ("counter", STMT, None),
    "neonhub_db_statement_errors_total": ("counter", STMT, None),
    "neonhub_db_statement_duration_seconds": ("histogram", STMT, STATEMENT_BUCKETS),
    "neonhub_db_slow_statements_total": ("counter", STMT, None),
    "neonhub_repository_calls_total": ("counter", {"query": QUERIES, "outcome": OUTCOMES}, None),
    "neonhub_repository_errors_total": ("counter", {"query": QUERIES}, None),
    "neonhub_repository_call_duration_seconds": (
        "histogram", {"query": QUERIES, "outcome": OUTCOMES}, REPOSITORY_BUCKETS),
    "neonhub_cache_hits_total": ("counter", {}, None),
    "neonhub_cache_misses_total": ("counter", {}, None),
    "neonhub_cache_coalesced_waits_total": ("counter", {}, None),
    "neonhub_cache_expirations_total": ("counter", {}, None),
    "neonhub_cache_invalidations_total": ("counter", {}, None),
    "neonhub_cache_bypasses_total": ("counter", {}, None),
    "neonhub_cache_entries": ("gauge", {}, None),
    "neonhub_cache_weight_bytes": ("gauge", {}, None),
    "neonhub_cache_capacity_bytes": ("gauge", {}, None),
    "neonhub_db_pool_connections": ("gauge", {"state": STATES}, None),
    "neonhub_db_pool_max_connections": ("gauge", {}, None),
    "neonhub_db_circuit_open": ("gauge", {}, None),
    "neonhub_db_circuit_opens_total": ("counter", {}, None),
    "neonhub_feed_up": ("gauge", {}, None),
    "neonhub_feed_ttl_only": ("gauge", {}, None),
    "neonhub_feed_gaps_total": ("counter", {}, None),
    "neonhub_feed_events_total": ("counter", {"table": TABLES}, None),
    "neonhub_feed_lag_seconds": ("histogram", {}, FEED_LAG_BUCKETS),
    "neonhub_db_reads_total": ("counter", {"target": {"primary", "replica"}}, None),
    "neonhub_replica_fallbacks_total": ("counter", {"reason": {"behind", "down", "error"}}, None),
    "neonhub_replica_up": ("gauge", {"replica": REPLICAS}, None),
    "neonhub_replica_lag_bytes": ("gauge", {"replica": REPLICAS}, None),
    "neonhub_replica_lag_seconds": ("gauge", {"replica": REPLICAS}, None),
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Series names a query may use: counters and gauges as they are, histograms
# only through their _bucket / _sum / _count series.
SERIES = {}
for family, (kind, _, _) in CONTRACT.items():
    if kind == "histogram":
        for suffix in HISTOGRAM_SUFFIXES:
            SERIES[family + suffix] = family
    else:
        SERIES[family] = family

errors = []


def error(msg):
    errors.append(msg)
    print(f"  ERROR: {msg}")


# --------------------------------------------------------------- PromQL
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}


def metric_names(expr):
    """Metric names in a PromQL expression (a small lexer, not a parser:
    enough for dashboards and rules written in the usual style)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r"\{[^{}]*\}", " ", e)      # label matchers ({job=~"$job"})
    e = re.sub(r"\[[^\[\]]*\]", " ", e)    # ranges, subqueries ([5m], [$__rate_interval])
    # grouping and matching clauses: `sum by (le) (...)`, `/ on (job) group_left (x)`
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)     # Grafana variables outside braces
    e = re.sub(r"(?<![\w:.])(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?((ms|[smhdwy])+)?(?![\w:])", " ", e)
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):           # function or aggregation
            continue
        if word.lower() in KEYWORDS:
            continue
        names.append(word)
    return names


def check_expr(where, expr):
    if "__name__" in expr:
        error(f"{where}: selects metrics by __name__; name them explicitly: {expr!r}")
    names = metric_names(expr)
    if not names:
        error(f"{where}: no metric in expression {expr!r}")
    for name in names:
        if name not in SERIES:
            hint = " (a histogram: use _bucket, _sum or _count)" if name in CONTRACT else ""
            error(f"{where}: unknown metric {name!r}{hint}")
    if "histogram_quantile" in expr:
        if not any(n.endswith("_bucket") for n in names):
            error(f"{where}: histogram_quantile without a _bucket series")
        if not re.search(r"\bby\s*\([^()]*\ble\b", expr):
            error(f"{where}: histogram_quantile must aggregate `by (..., le)`")
    return names


def check_dashboard(path):
    with open(path) as f:
        dash = json.load(f)
    if dash.get("uid") != "neonhub-data":
        error(f"uid is {dash.get('uid')!r}, expected 'neonhub-data'")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        error(f"schemaVersion {dash.get('schemaVersion')!r} < 36")
    variables = dash.get("templating", {}).get("list", [])
    if not any(v.get("name") == "datasource" and v.get("type") == "datasource"
               and v.get("query") == "prometheus" for v in variables):
        error("no `datasource` template variable of type datasource / prometheus")

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    ids, used, titles = set(), set(), set()
    count = 0
    for p in panels(dash.get("panels", [])):
        pid = p.get("id")
        if pid in ids:
            error(f"duplicate panel id {pid}")
        ids.add(pid)
        if p.get("type") == "row":
            continue
        count += 1
        title = p.get("title", "").strip()
        where = f"panel {pid} {title!r}"
        if not title:
            error(f"panel {pid}: no title")
        if title in titles:
            error(f"{where}: duplicate title")
        titles.add(title)
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            error(f"{where}: no unit (fieldConfig.defaults.unit)")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            error(f"{where}: datasource is not ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            error(f"{where}: no targets")
        for t in targets:
            tw = f"{where} target {t.get('refId')}"
            if t.get("datasource", {}).get("uid", "${datasource}") != "${datasource}":
                error(f"{tw}: datasource is not ${{datasource}}")
            expr = t.get("expr", "")
            if not expr.strip():
                error(f"{tw}: empty expr")
                continue
            used.update(SERIES.get(n, n) for n in check_expr(tw, expr))
    for family in CONTRACT:
        if family not in used:
            error(f"no panel shows {family}")
    print(f"  {count} panels, {len(used & set(CONTRACT))}/{len(CONTRACT)} metric families used")


def check_rules(path):
    # Every neonhub_ name anywhere in the rule file (expressions, comments,
    # annotations) must be a series of the contract. promtool has already
    # checked the PromQL syntax.
    text = open(path).read()
    names = set(re.findall(r"\bneonhub_[a-z0-9_]+", text))
    for name in sorted(names):
        if name not in SERIES:
            error(f"{path}: unknown metric {name!r}")
    print(f"  {len(names)} neonhub_ series named in {path}")


# ----------------------------------------------------------- exposition
LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_le(value):
    return math.inf if value == "+Inf" else float(value)


def check_exposition(path):
    types, helps = {}, set()
    buckets = {}                           # (family, labels) -> [le]
    seen = set()
    for lineno, line in enumerate(open(path), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip()
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps.add(parts[2])
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)", line)
        if not m:
            error(f"{path}:{lineno}: cannot parse {line!r}")
            continue
        name, raw_labels = m.group(1), m.group(2) or "{}"
        if not name.startswith("neonhub_"):
            continue
        labels = dict(LABEL.findall(raw_labels[1:-1]))
        family = SERIES.get(name)
        if family is None:
            error(f"{path}:{lineno}: {name} is not in the metrics contract")
            continue
        seen.add(family)
        kind, allowed, bounds = CONTRACT[family]
        le = labels.pop("le", None)
        if name.endswith("_bucket") and kind == "histogram":
            if le is None:
                error(f"{path}:{lineno}: {name} without le")
            else:
                key = (family, tuple(sorted(labels.items())))
                buckets.setdefault(key, []).append(parse_le(le))
        elif le is not None:
            error(f"{path}:{lineno}: {name} has an le label")
        if set(labels) != set(allowed):
            error(f"{path}:{lineno}: {name} labels {sorted(labels)}, expected {sorted(allowed)}")
        for label, value in labels.items():
            if label in allowed and value not in allowed[label]:
                error(f"{path}:{lineno}: {name}: {label}={value!r} is not one of {sorted(allowed[label])}")
    for family, (kind, _, _) in CONTRACT.items():
        if family not in seen:
            print(f"  note: {family} not in the exposition (never recorded in this run?)")
            continue
        if types.get(family) != kind:
            error(f"{family}: # TYPE is {types.get(family)!r}, expected {kind!r}")
        if family not in helps:
            error(f"{family}: no # HELP line")
    for (family, labels), les in buckets.items():
        expected = CONTRACT[family][2] + [math.inf]
        if sorted(les) != expected:
            shown = ", ".join("+Inf" if b == math.inf else f"{b:g}" for b in sorted(les))
            error(f"{family}{dict(labels)}: buckets [{shown}] differ from the contract")
    for name, kind in types.items():
        if name.startswith("neonhub_") and name not in CONTRACT:
            error(f"# TYPE {name} {kind}: not in the metrics contract")
    print(f"  {len(seen)}/{len(CONTRACT)} contract families present, "
          f"{len(buckets)} histogram series with the contract's buckets checked")


mode, path = sys.argv[1], sys.argv[2]
{"dashboard": check_dashboard, "rules": check_rules, "exposition": check_exposition}[mode](path)
if errors:
    print(f"  FAILED: {len(errors)} problem(s)")
    sys.exit(1)
print("  SUCCESS")
PY
}

step "dashboard: panels, units, datasource and metric names ($DASHBOARD)"
contract_check dashboard "$DASHBOARD" || failed+=("dashboard contract")

step "alert rules: metric names ($RULES)"
contract_check rules "$RULES" || failed+=("rule metric names")

if [[ -n "$metrics_file" ]]; then
    step "promtool check metrics < $metrics_file"
    if "$promtool_bin" check metrics <"$metrics_file"; then
        echo "  SUCCESS"
    else
        failed+=("promtool check metrics")
    fi

    step "exposition: neonhub_ metrics against the contract ($metrics_file)"
    contract_check exposition "$metrics_file" || failed+=("exposition contract")
fi

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "All ops checks passed."
