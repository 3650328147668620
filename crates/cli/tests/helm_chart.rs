//! The Helm chart as `helm` itself sees it (`CLUSTERLINK_HELM`, or `scripts/helm/install.sh`):
//!
//! - `helm lint --strict` and `helm template` pass with the default values and with
//!   `ci/every-option-values.yaml`, which sets every value, both validated by
//!   `values.schema.json`; the schema refuses unknown keys and values out of range;
//! - the monitoring objects (ServiceMonitors, PrometheusRule) are off by default, the dashboard
//!   ConfigMap on; every option reaches the objects it is meant for, and every flag the chart
//!   gives a link server is one `clusterlink server` takes;
//! - every metric the Grafana dashboard and the alerts query is one the code exposes: a link
//!   server over Apache Kafka, with a link and a mirror topic, is scraped, and the operator's
//!   metrics, with a ClusterLink, rendered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clusterlink_testkit::kafka::KafkaCluster;
use clusterlink_testkit::link_server::LinkServer;
use serde::Deserialize;
use serde_norway::Value;

const RELEASE: &str = "cl";
const NAMESPACE: &str = "clusterlink-system";

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/clusterlink")
}

fn every_option() -> PathBuf {
    chart_dir().join("ci/every-option-values.yaml")
}

/// Runs helm with its config, cache and data homes in a scratch folder (nothing of the user's).
fn helm(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(clusterlink_testkit::helm::binary())
        .args(args)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .expect("run helm")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `helm template` of the chart with these values files and `--set`s: its stdout, or its stderr.
fn template(values: &[&Path], sets: &[&str]) -> Result<String, String> {
    let chart = chart_dir();
    let mut args = vec![
        "template",
        RELEASE,
        chart.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
    ];
    for v in values {
        args.extend(["--values", v.to_str().unwrap()]);
    }
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = helm(&args);
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

/// The rendered objects.
fn render(values: &[&Path], sets: &[&str]) -> Vec<Value> {
    let out = template(values, sets).unwrap_or_else(|e| panic!("helm template failed: {e}"));
    serde_norway::Deserializer::from_str(&out)
        .map(|doc| Value::deserialize(doc).expect("rendered YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {list:?}"))
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

fn server_container(deployment: &Value) -> &Value {
    named(
        &deployment["spec"]["template"]["spec"]["containers"],
        "server",
    )
}

/// The value following `flag` in `args`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

// ---------------------------------------------------------------------------- lint and schema

#[test]
fn chart_lints_and_renders_with_default_and_every_option_values() {
    let chart = chart_dir();
    let values = every_option();
    for args in [
        vec!["lint", "--strict", chart.to_str().unwrap()],
        vec![
            "lint",
            "--strict",
            chart.to_str().unwrap(),
            "--values",
            values.to_str().unwrap(),
        ],
    ] {
        let out = helm(&args);
        assert!(
            out.status.success(),
            "helm {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    let defaults = render(&[], &[]);
    let expected: BTreeSet<String> = [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        kinds(&defaults),
        expected,
        "by default nothing needs the Prometheus Operator's CRDs"
    );

    let every = render(&[&values], &[]);
    let mut expected = expected;
    expected.extend(["ServiceMonitor", "PrometheusRule", "NetworkPolicy"].map(String::from));
    expected.remove("ClusterRole");
    expected.remove("ClusterRoleBinding");
    assert_eq!(
        kinds(&every),
        expected,
        "watchNamespace makes the RBAC a Role"
    );
    assert_eq!(
        of_kind(&every, "Deployment").len(),
        3,
        "operator and two link servers"
    );
}

#[test]
fn schema_refuses_unknown_keys_and_values_out_of_range() {
    for (sets, what) in [
        (&["replicas=two"][..], "replicas"),
        (
            &["metrics.servicemonitor.enabled=true"][..],
            "servicemonitor",
        ),
        (&["linkServer.engine.maxInFlight=6"][..], "maxInFlight"),
        (
            &["linkServer.engine.bufferMaxBytes=0"][..],
            "bufferMaxBytes",
        ),
        (&["linkServer.engine.fetchMaxBytes=1"][..], "fetchMaxBytes"),
        (&["linkServers[0].name=dst"][..], "bootstrapServers"),
        (
            &[
                "linkServers[0].name=dst",
                "linkServers[0].bootstrapServers=k:9092",
                "linkServers[0].commandConfigSecret.key=client.properties",
            ][..],
            "name",
        ),
        (&["prometheusRule.for=five minutes"][..], "for"),
        (&["image.pullPolicy=Sometimes"][..], "pullPolicy"),
    ] {
        let err = template(&[], sets).expect_err(&format!("{sets:?} must be refused"));
        assert!(
            err.contains("schema") && err.contains(what),
            "{sets:?}: the schema's refusal should name {what}: {err}"
        );
    }
    // What the schema allows, the templates accept.
    template(
        &[],
        &[
            "linkServers[0].name=dst",
            "linkServers[0].bootstrapServers=k:9092",
            "linkServers[0].commandConfigSecret=client-config",
            "linkServer.engine.maxInFlight=5",
        ],
    )
    .unwrap();
}

// ------------------------------------------------------------------------- what options render

#[test]
fn link_server_options_reach_the_containers_and_are_real_flags() {
    let every = render(&[&every_option()], &[]);
    let destination = find(&every, "Deployment", "clusterlink-prod-destination");
    assert_eq!(destination["metadata"]["namespace"].as_str(), Some("kafka"));
    let c = server_container(destination);
    let args = strings(&c["args"]);
    // The Secret's properties file, mounted read-only where --command-config points.
    assert_eq!(
        flag_value(&args, "--command-config"),
        Some("/etc/clusterlink/command-config/admin.properties")
    );
    let mount = named(&c["volumeMounts"], "command-config");
    assert_eq!(
        mount["mountPath"].as_str(),
        Some("/etc/clusterlink/command-config")
    );
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let pod = &destination["spec"]["template"]["spec"];
    let volume = named(&pod["volumes"], "command-config");
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("kafka-client-config")
    );
    assert_eq!(
        volume["secret"]["items"][0]["key"].as_str(),
        Some("admin.properties")
    );
    assert_eq!(
        volume["secret"]["items"][0]["path"].as_str(),
        Some("admin.properties")
    );
    // The previous password encoder secret, during a rotation, mounted beside the current one.
    assert_eq!(
        flag_value(&args, "--password-encoder-old-secret-file"),
        Some("/etc/clusterlink/password-encoder-old/previous")
    );
    assert_eq!(
        flag_value(&args, "--password-encoder-secret-file"),
        Some("/etc/clusterlink/password-encoder/secret")
    );
    let mount = named(&c["volumeMounts"], "password-encoder-old");
    assert_eq!(
        mount["mountPath"].as_str(),
        Some("/etc/clusterlink/password-encoder-old")
    );
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let volume = named(&pod["volumes"], "password-encoder-old");
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("encoder-previous")
    );
    assert_eq!(
        volume["secret"]["items"][0]["key"].as_str(),
        Some("previous")
    );
    // Engine settings: the server's own over the shared ones.
    for (flag, value) in [
        ("--partition-max-bytes", "2097152"),
        ("--produce-connections", "4"),
        ("--max-in-flight", "3"),
        ("--buffer-max-bytes", "134217728"),
    ] {
        assert_eq!(flag_value(&args, flag), Some(value), "{flag} in {args:?}");
    }
    // The REST API secured: each file mounted read-only where its flag points.
    for (flag, path, volume) in [
        (
            "--rest-tls-cert",
            "/etc/clusterlink/rest-tls/tls.crt",
            "rest-tls",
        ),
        (
            "--rest-tls-key",
            "/etc/clusterlink/rest-tls/tls.key",
            "rest-tls",
        ),
        (
            "--rest-client-ca",
            "/etc/clusterlink/rest-tls/ca.crt",
            "rest-tls",
        ),
        (
            "--rest-basic-auth-file",
            "/etc/clusterlink/rest-users/users",
            "rest-users",
        ),
        (
            "--rest-jwt-public-key",
            "/etc/clusterlink/rest-jwt/issuer.pem",
            "rest-jwt",
        ),
        (
            "--rest-roles-file",
            "/etc/clusterlink/rest-roles/roles.yaml",
            "rest-roles",
        ),
    ] {
        assert_eq!(flag_value(&args, flag), Some(path), "{flag} in {args:?}");
        let mount = named(&c["volumeMounts"], volume);
        assert!(
            path.starts_with(mount["mountPath"].as_str().unwrap()),
            "{volume}"
        );
        assert_eq!(mount["readOnly"].as_bool(), Some(true), "{volume}");
    }
    assert_eq!(
        named(&pod["volumes"], "rest-tls")["secret"]["secretName"].as_str(),
        Some("destination-link-server-tls")
    );
    assert_eq!(
        named(&pod["volumes"], "rest-roles")["configMap"]["name"].as_str(),
        Some("link-server-roles")
    );
    assert_eq!(
        flag_value(&args, "--rest-jwt-issuer"),
        Some("https://login.example.com")
    );
    assert_eq!(
        flag_value(&args, "--rest-jwt-audience"),
        Some("clusterlink")
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"]["scheme"].as_str(),
            Some("HTTPS"),
            "{probe}"
        );
    }
    // Only the operator and the listed peers reach the REST port.
    let policy = find(&every, "NetworkPolicy", "clusterlink-prod-destination");
    let from = &policy["spec"]["ingress"][0]["from"];
    assert_eq!(
        from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"].as_str(),
        Some("operator")
    );
    assert_eq!(
        from[1]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str(),
        Some("monitoring")
    );
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"]["clusterlink/link-server"].as_str(),
        Some("destination")
    );
    // Extra arguments: the shared ones, then the server's, at the end.
    assert_eq!(
        args[args.len() - 4..],
        [
            "--connect-to",
            "broker-0.kafka:9092=10.0.0.10:9092",
            "--advertised-bootstrap-server",
            "kafka.example.com:9093"
        ]
    );
    assert_eq!(named(&c["env"], "TZ")["value"].as_str(), Some("UTC"));
    assert_eq!(
        named(&c["env"], "CLUSTERLINK_RETRY_TIMEOUT_MS")["value"].as_str(),
        Some("60000")
    );
    assert_eq!(
        named(&c["env"], "RUST_LOG")["value"].as_str(),
        Some("debug")
    );
    for (volume, path) in [("scratch", "/scratch"), ("kafka-ca", "/etc/kafka-ca")] {
        assert_eq!(
            named(&c["volumeMounts"], volume)["mountPath"].as_str(),
            Some(path)
        );
        named(&pod["volumes"], volume);
    }

    // A Secret named by a string: its key defaults to client.properties; only shared extras.
    let source = find(&every, "Deployment", "clusterlink-prod-source");
    assert_eq!(source["metadata"]["namespace"].as_str(), Some(NAMESPACE));
    let c = server_container(source);
    let source_args = strings(&c["args"]);
    assert_eq!(
        flag_value(&source_args, "--command-config"),
        Some("/etc/clusterlink/command-config/client.properties")
    );
    assert_eq!(flag_value(&source_args, "--max-in-flight"), Some("5"));
    assert!(!source_args
        .iter()
        .any(|a| a == "--advertised-bootstrap-server"));
    let volume = named(
        &source["spec"]["template"]["spec"]["volumes"],
        "command-config",
    );
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("source-client-config")
    );
    // An old encoder Secret named by a string: its key defaults to CFK's name.
    assert_eq!(
        flag_value(&source_args, "--password-encoder-old-secret-file"),
        Some("/etc/clusterlink/password-encoder-old/password-encoder-secret")
    );
    let volume = named(
        &source["spec"]["template"]["spec"]["volumes"],
        "password-encoder-old",
    );
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("encoder-source-previous")
    );

    // Without these values: none of the flags, mounts or volumes.
    let plain = render(
        &[],
        &[
            "linkServers[0].name=dst",
            "linkServers[0].bootstrapServers=k:9092",
        ],
    );
    let plain_deployment = find(&plain, "Deployment", "cl-clusterlink-dst");
    let c = server_container(plain_deployment);
    let plain_args = strings(&c["args"]);
    for flag in [
        "--command-config",
        "--password-encoder-old-secret-file",
        "--partition-max-bytes",
        "--produce-connections",
        "--max-in-flight",
        "--buffer-max-bytes",
        "--rest-tls-cert",
        "--rest-basic-auth-file",
        "--rest-roles-file",
    ] {
        assert!(!plain_args.iter().any(|a| a == flag), "{flag} by default");
    }
    assert_eq!(
        c["volumeMounts"].as_sequence().unwrap().len(),
        2,
        "password encoder and tmp only"
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"]["scheme"].as_str(),
            Some("HTTP"),
            "{probe}"
        );
    }
    assert!(of_kind(&plain, "NetworkPolicy").is_empty());

    // Every flag the chart passes is one `clusterlink server` takes.
    let help = Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["server", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = text(&help.stdout);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "clusterlink server has no {flag}"
        );
    }
}

#[test]
fn monitoring_objects_select_the_operator_and_link_servers() {
    let every = render(&[&every_option()], &[]);
    let operator = find(&every, "ServiceMonitor", "clusterlink-prod-operator");
    assert_eq!(
        operator["metadata"]["labels"]["release"].as_str(),
        Some("kube-prometheus-stack")
    );
    let endpoint = &operator["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"].as_str(), Some("metrics"));
    assert_eq!(endpoint["path"].as_str(), Some("/metrics"));
    assert_eq!(endpoint["interval"].as_str(), Some("15s"));
    assert_eq!(endpoint["scrapeTimeout"].as_str(), Some("5s"));
    // It selects the metrics Service, which names its port `metrics`.
    let service = find(&every, "Service", "clusterlink-prod-operator-metrics");
    for (key, value) in operator["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][key.as_str().unwrap()], value);
    }
    assert_eq!(
        service["spec"]["ports"][0]["name"].as_str(),
        Some("metrics")
    );

    let servers = find(&every, "ServiceMonitor", "clusterlink-prod-link-servers");
    assert_eq!(
        strings(&servers["spec"]["namespaceSelector"]["matchNames"]),
        [NAMESPACE, "kafka"]
    );
    assert_eq!(
        servers["spec"]["endpoints"][0]["port"].as_str(),
        Some("http")
    );
    for name in ["clusterlink-prod-destination", "clusterlink-prod-source"] {
        let service = find(&every, "Service", name);
        for (key, value) in servers["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .unwrap()
        {
            assert_eq!(&service["metadata"]["labels"][key.as_str().unwrap()], value);
        }
        assert_eq!(service["spec"]["ports"][0]["name"].as_str(), Some("http"));
    }
    // Link servers with TLS are scraped over https, trusting the CA given.
    let endpoint = &servers["spec"]["endpoints"][0];
    assert_eq!(endpoint["scheme"].as_str(), Some("https"));
    assert_eq!(
        endpoint["tlsConfig"]["ca"]["secret"]["key"].as_str(),
        Some("ca.crt")
    );

    let dashboard = find(&every, "ConfigMap", "clusterlink-prod-dashboard");
    assert_eq!(
        dashboard["metadata"]["namespace"].as_str(),
        Some("monitoring")
    );
    assert_eq!(
        dashboard["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1")
    );
    assert_eq!(
        dashboard["metadata"]["annotations"]["grafana_folder"].as_str(),
        Some("Kafka")
    );

    let rule = &of_kind(&every, "PrometheusRule")[0];
    for r in rule["spec"]["groups"][0]["rules"].as_sequence().unwrap() {
        assert_eq!(r["for"].as_str(), Some("10m"));
        assert_eq!(r["labels"]["severity"].as_str(), Some("critical"));
    }

    // The ServiceMonitor scrapes through the metrics Service: without it, helm refuses.
    let err = template(
        &[],
        &[
            "metrics.serviceMonitor.enabled=true",
            "metrics.service.enabled=false",
        ],
    )
    .expect_err("a ServiceMonitor without its Service");
    assert!(err.contains("metrics.service.enabled"), "{err}");
}

// ---------------------------------------------------------------- dashboard and alert metrics

/// The dashboard's PromQL: every target's `expr` and every query variable's query (for
/// `label_values(EXPR, label)`, its EXPR).
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .collect();
    while let Some(panel) = panels.pop() {
        if let Some(inner) = panel["panels"].as_array() {
            panels.extend(inner);
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(
                target["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: a target without expr", panel["title"]))
                    .to_string(),
            );
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .expect("a variable's query");
        let query = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(','))
            .map_or(query, |(expr, _label)| expr);
        out.push(query.to_string());
    }
    out
}

/// PromQL words followed by a list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// PromQL's aggregation operators.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// PromQL's other words that are not metric names.
const PROMQL_KEYWORDS: &[&str] = &["bool", "and", "or", "unless", "offset", "inf", "nan"];

/// The metric names a PromQL expression selects: identifiers that are not functions,
/// keywords, label names (in `{...}` or after by/without/on/ignoring/group_*), Grafana
/// variables, strings, numbers or durations.
fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut label_list_next = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    if chars[i] == '"' {
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            i += if chars[i] == '\\' { 2 } else { 1 };
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            '(' if label_list_next => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                label_list_next = false;
            }
            '$' => {
                // A Grafana variable: $name, ${name} or $__name.
                i += 1;
                if chars.get(i) == Some(&'{') {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                // A number or a duration (5m, 1.5e3).
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                label_list_next = false;
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next].is_whitespace() {
                    next += 1;
                }
                let lower = word.to_ascii_lowercase();
                // A function or an aggregation, whose `by (...)` may come before its argument.
                let rest: String = chars[next..].iter().collect();
                let grouped = AGGREGATIONS.contains(&lower.as_str())
                    && ["by", "without"].iter().any(|k| {
                        rest.to_ascii_lowercase()
                            .strip_prefix(k)
                            .is_some_and(|r| r.starts_with([' ', '(']))
                    });
                let called = chars.get(next) == Some(&'(') || grouped;
                if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                    label_list_next = true;
                } else if !PROMQL_KEYWORDS.contains(&lower.as_str()) && !called {
                    names.insert(word);
                }
            }
            c => {
                if !c.is_whitespace() {
                    label_list_next = false;
                }
                i += 1;
            }
        }
    }
    names
}

/// The metric names of an exposition (text format 0.0.4 or OpenMetrics): every sample's name,
/// and every family's name with the suffixes its samples may carry.
fn exposed_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let family = rest.split_whitespace().next().unwrap_or_default();
            names.insert(family.to_string());
            for suffix in ["_total", "_bucket", "_sum", "_count", "_created", "_info"] {
                names.insert(format!("{family}{suffix}"));
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

/// The label names of an exposition's samples.
fn exposed_labels(exposition: &str) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        if let Some(open) = line.find('{') {
            labels.extend(matcher_labels(&line[open + 1..]));
        }
    }
    labels
}

/// The label names of matchers `a="x",b=~"y"...` up to the closing brace (quotes respected).
fn matcher_labels(text: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut name = String::new();
    let (mut quoted, mut escaped, mut in_name) = (false, false, true);
    for c in text.chars() {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '}' => break,
            ',' => in_name = true,
            c if in_name && (c.is_ascii_alphanumeric() || c == '_') => name.push(c),
            _ if in_name && !name.is_empty() => {
                labels.push(std::mem::take(&mut name));
                in_name = false;
            }
            _ => {}
        }
    }
    labels
}

/// The label names a PromQL expression groups, matches or filters by: `by (...)`,
/// `without (...)`, `on (...)`, `ignoring (...)`, `group_left (...)`, `group_right (...)` and
/// the matchers in braces.
fn promql_label_names(expr: &str) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    let bytes = expr.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                quoted = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            quoted = true;
        } else if b == b'{' {
            labels.extend(matcher_labels(&expr[i + 1..]));
        } else if ident(b) && (i == 0 || !ident(bytes[i - 1])) {
            let end = (i..bytes.len())
                .find(|&j| !ident(bytes[j]))
                .unwrap_or(bytes.len());
            let word = &expr[i..end];
            let rest = expr[end..].trim_start();
            if [
                "by",
                "without",
                "on",
                "ignoring",
                "group_left",
                "group_right",
            ]
            .contains(&word)
                && rest.starts_with('(')
            {
                let inside = &rest[1..rest.find(')').unwrap_or(rest.len())];
                labels.extend(
                    inside
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_string),
                );
            }
            i = end;
            continue;
        }
        i += 1;
    }
    labels
}

#[test]
fn promql_label_names_reads_groupings_and_matchers() {
    let labels = |e: &str| promql_label_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        labels(r#"sum by (link, topic) (rate(a_total{link=~"$link",x="}"}[5m])) > on (link) b"#),
        ["link", "topic", "x"]
    );
    assert_eq!(labels(r#"c{state!="ACTIVE"} == 1"#), ["state"]);
    assert_eq!(
        exposed_labels("# TYPE m gauge\nm{link=\"a,b\",topic=\"t\"} 1\nn 2\n"),
        BTreeSet::from(["link".to_string(), "topic".to_string()])
    );
}

/// The `/metrics` of a link server with a link, a mirror topic and an API error, so that every
/// family has samples (an exposition may leave out a family without any: prometheus-client
/// does).
async fn link_server_exposition() -> String {
    let source = KafkaCluster::shared().expect("a source Kafka cluster");
    let destination = KafkaCluster::shared_second().expect("a destination Kafka cluster");
    let topic = clusterlink_testkit::kafka::unique_name("metrics-src");
    let client = clusterlink_testkit::link_server::client(&source.bootstrap()).await;
    clusterlink_testkit::topics::create_topic(&client, &topic, 2, &[]).await;

    let server = LinkServer::start(&destination.bootstrap()).await;
    let links = format!("/v3/clusters/{}/links", server.manager.cluster_id());
    let link = clusterlink_testkit::kafka::unique_name("metrics");
    let body = serde_json::json!({
        "source_cluster_id": source.cluster_id(),
        "configs": [{"name": "bootstrap.servers", "value": source.bootstrap()}],
    });
    let (status, answer) = server
        .http(
            "POST",
            &format!("{links}?link_name={link}"),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 204, "create the link: {answer}");
    let body = serde_json::json!({ "source_topic_name": topic });
    let (status, answer) = server
        .http(
            "POST",
            &format!("{links}/{link}/mirrors"),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 204, "create the mirror: {answer}");
    // An API error, counted by category.
    let (status, _) = server
        .http("GET", &format!("{links}/no-such-link"), None)
        .await;
    assert_eq!(status, 404);

    // Until the mirror's partitions are reported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let exposition = loop {
        let (status, text) = server.http("GET", "/metrics", None).await;
        assert_eq!(status, 200, "GET /metrics");
        if text.contains(&format!("topic=\"{topic}\",partition=\"1\"")) {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror's partitions never showed in:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    server.stop().await;
    exposition
}

/// The operator's exposition with a reconcile, an error and a ClusterLink with a mirror topic.
fn operator_exposition() -> String {
    let metrics = clusterlink_operator::Metrics::default();
    metrics.reconciled("clusterlink", true, std::time::Duration::from_millis(5), 1);
    metrics.error("clusterlink", "rest-unreachable");
    let lags = [("orders".to_string(), 3)].into_iter().collect();
    metrics.link("ns", "link", false, &lags);
    metrics.set_leader(true);
    metrics.render()
}

#[test]
fn promql_metric_names_skips_what_is_not_a_metric() {
    let names = |e: &str| -> Vec<String> { promql_metric_names(e).into_iter().collect() };
    assert_eq!(
        names(r#"sum by (link, mirror) (rate(a_total{link=~"$link",x="}"}[$__rate_interval]))"#),
        ["a_total"]
    );
    assert_eq!(
        names("max by (namespace) (b_seconds) > 300 and on (link) c == 1 or d offset 5m"),
        ["b_seconds", "c", "d"]
    );
    assert_eq!(
        names(r#"sum(e{state!="ACTIVE"}) without (partition) / ignoring(x) group_left f * 1.5e3"#),
        ["e", "f"]
    );
    assert_eq!(
        names("x / on(a) group_left sum(y) + group_right (b) max(z)"),
        ["x", "y", "z"]
    );
    assert_eq!(
        names("count without(a) (m) + sum by (b) (n) - count"),
        ["count", "m", "n"],
        "an aggregation's name alone is a metric's"
    );
    assert_eq!(names("label_values(g, link)"), ["g", "link"], "not PromQL");
    let exposed = exposed_names(
        "# HELP h_total h\n# TYPE h_total counter\n# TYPE i counter\ni_total 3\nj{a=\"b\"} 1\n",
    );
    for name in ["h_total", "i", "i_total", "j"] {
        assert!(exposed.contains(name), "{name} in {exposed:?}");
    }
    assert!(!exposed.contains("k"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_and_alerts_query_only_metrics_the_code_exposes() {
    // What the chart queries: the dashboard and the alerts, rendered.
    let objects = tokio::task::spawn_blocking(|| {
        render(
            &[],
            &["prometheusRule.enabled=true", "dashboard.enabled=true"],
        )
    })
    .await
    .unwrap();
    let dashboard = find(&objects, "ConfigMap", "cl-clusterlink-dashboard");
    assert_eq!(
        dashboard["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1")
    );
    let json = dashboard["data"]["clusterlink.json"]
        .as_str()
        .expect("the dashboard's JSON");
    let json: serde_json::Value = serde_json::from_str(json).expect("the dashboard is JSON");
    let mut ids = BTreeSet::new();
    for panel in json["panels"].as_array().expect("panels") {
        let title = &panel["title"];
        assert!(
            ids.insert(panel["id"].as_u64().expect("a panel id")),
            "{title}: duplicate id"
        );
        let grid = &panel["gridPos"];
        assert!(
            grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap() <= 24,
            "{title}: wider than the dashboard"
        );
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{title}: the data source variable"
        );
    }
    let dashboard_queries = dashboard_queries(&json);
    let rule = &of_kind(&objects, "PrometheusRule")[0];
    let rules = rule["spec"]["groups"][0]["rules"]
        .as_sequence()
        .expect("rules");
    let alert_queries: Vec<(String, String)> = rules
        .iter()
        .map(|r| {
            assert_eq!(r["for"].as_str(), Some("5m"), "every alert waits 5 minutes");
            (
                r["alert"].as_str().unwrap().to_string(),
                r["expr"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    // What the code exposes: a link server's scrape and the operator's families.
    let (server, operator) = (link_server_exposition().await, operator_exposition());
    let mut exposed = exposed_names(&server);
    exposed.extend(exposed_names(&operator));
    // The labels a query may use: the samples' own, and those Prometheus adds to every target
    // a ServiceMonitor scrapes.
    let mut labels_exposed = exposed_labels(&server);
    labels_exposed.extend(exposed_labels(&operator));
    labels_exposed.extend(
        [
            "namespace",
            "pod",
            "job",
            "instance",
            "service",
            "container",
            "endpoint",
            "le",
        ]
        .map(String::from),
    );

    let mut queried = BTreeSet::new();
    for (what, expr) in dashboard_queries
        .iter()
        .map(|e| ("dashboard".to_string(), e))
        .chain(alert_queries.iter().map(|(a, e)| (format!("alert {a}"), e)))
    {
        let names = promql_metric_names(expr);
        assert!(!names.is_empty(), "{what}: no metric in {expr}");
        for label in promql_label_names(expr) {
            assert!(
                labels_exposed.contains(&label),
                "{what} uses the label {label}, which no exposed metric carries ({expr})"
            );
        }
        for name in names {
            assert!(
                exposed.contains(&name),
                "{what} queries {name}, which neither the link server nor the operator exposes \
                 ({expr})"
            );
            queried.insert(name);
        }
    }

    // The dashboard shows what the issue asks for, the alerts watch what it asks for.
    let dashboard_names: BTreeSet<String> = dashboard_queries
        .iter()
        .flat_map(|e| promql_metric_names(e))
        .collect();
    for name in [
        "clusterlink_mirror_lag_seconds",
        "clusterlink_mirror_lag_records",
        "clusterlink_mirror_records_total",
        "clusterlink_mirror_bytes_total",
        "clusterlink_mirror_buffered_bytes",
        "clusterlink_errors_total",
        "clusterlink_link_state",
        "clusterlink_operator_cluster_link_ready",
    ] {
        assert!(
            dashboard_names.contains(name),
            "no dashboard panel shows {name}"
        );
    }
    let alert = |name: &str| -> &str {
        &alert_queries
            .iter()
            .find(|(a, _)| a == name)
            .unwrap_or_else(|| panic!("no alert {name}"))
            .1
    };
    assert!(alert("ClusterLinkMirrorLagHigh").contains("clusterlink_mirror_lag_seconds"));
    assert!(alert("ClusterLinkMirrorLagHigh").ends_with("> 300"));
    assert!(alert("ClusterLinkNotActive").contains(r#"clusterlink_link_state{state!="ACTIVE"}"#));
    assert!(
        alert("ClusterLinkResourceNotReady").contains("clusterlink_operator_cluster_link_ready")
    );
    assert!(alert("ClusterLinkPartitionsFailing").contains("clusterlink_mirror_partition_error"));
    assert!(queried.len() >= 10, "{queried:?}");
}
