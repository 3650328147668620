//! The Kubernetes deployment files under `deploy/` and the `Dockerfile`, checked offline: no
//! network, no cluster, no `helm` binary.
//!
//! - every manifest parses, and each kustomization lists exactly the manifests beside it;
//! - the chart ships the generated CRDs byte for byte;
//! - the operator's RBAC is exactly the least-privilege rule set (no wildcard, no secret write,
//!   leases only in its own namespace), in the plain manifests and in the chart alike;
//! - the operator and link-server Deployments run the binary with the expected arguments,
//!   environment, probes and hardened security context;
//! - the Helm templates are well formed (balanced `{{ }}` and blocks) and reference only values
//!   that `values.yaml` defines.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;

const OPERATOR_NAMESPACE: &str = "clusterlink-system";
const OPERATOR_NAME: &str = "clusterlink-operator";

/// The operator's permissions in every watched namespace: (API group, resource, verbs).
#[rustfmt::skip]
const OPERATOR_RULES: &[(&str, &str, &[&str])] = &[
    ("platform.confluent.io", "clusterlinks", &["get", "list", "watch", "patch", "update"]),
    ("platform.confluent.io", "clusterlinks/status", &["get", "patch", "update"]),
    ("platform.confluent.io", "clusterlinks/finalizers", &["update"]),
    ("platform.confluent.io", "kafkarestclasses", &["get", "list", "watch"]),
    ("platform.confluent.io", "kafkas", &["get", "list", "watch"]),
    ("kafka.strimzi.io", "kafkas", &["get", "list", "watch"]),
    ("platform.confluent.io", "kafkatopics",
        &["get", "list", "watch", "create", "patch", "update", "delete"]),
    ("platform.confluent.io", "kafkatopics/status", &["get", "patch", "update"]),
    ("platform.confluent.io", "kafkatopics/finalizers", &["update"]),
    ("", "secrets", &["get"]),
    ("events.k8s.io", "events", &["create", "patch"]),
    ("", "events", &["create", "patch"]),
];

/// The leader-election permissions, in the operator's namespace only.
const LEASE_RULES: &[(&str, &str, &[&str])] = &[(
    "coordination.k8s.io",
    "leases",
    &["get", "create", "update", "patch"],
)];

const OPERATOR_ARGS: &[&str] = &[
    "operator",
    "--metrics-listen",
    "0.0.0.0:9090",
    "--lease-namespace",
    "$(POD_NAMESPACE)",
    "--lease-name",
    "clusterlink-operator",
];

const LINK_SERVER_ARGS: &[&str] = &[
    "server",
    "--bootstrap-server",
    "kafka.destination.svc.cluster.local:9092",
    "--listen",
    "0.0.0.0:8090",
    "--password-encoder-secret-file",
    "/etc/clusterlink/password-encoder/password-encoder-secret",
];

// ------------------------------------------------------------------------------------ helpers

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The files of `dir` (not recursive) whose name ends with one of `extensions`, sorted.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| extensions.iter().any(|ext| n.ends_with(ext)))
        })
        .collect();
    out.sort();
    out
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    files(dir, &[".yaml", ".yml"])
}

/// Every non-empty YAML document of a file.
fn documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_norway::Deserializer::from_str(&text)
        .enumerate()
        .map(|(i, doc)| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} document {i} is not YAML: {e}", path.display()))
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The Kubernetes objects of a folder of manifests (its kustomization left out).
fn objects(dir: &str) -> Vec<Value> {
    yaml_files(&repo().join(dir))
        .iter()
        .filter(|p| !is_kustomization(p))
        .flat_map(|p| documents(p))
        .collect()
}

fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name)
        })
        .collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind} {name}");
    found[0]
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

fn seq<'a>(value: &'a Value, what: &str) -> &'a [Value] {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list: {value:?}"))
}

fn strings(value: &Value, what: &str) -> Vec<String> {
    seq(value, what)
        .iter()
        .map(|v| str_of(v, what).to_string())
        .collect()
}

/// Rules as a set of (API group, resource, verb), refusing wildcards and resource names.
fn rule_set(rules: &Value, what: &str) -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for rule in seq(rules, what) {
        assert!(
            rule["resourceNames"].is_null() && rule["nonResourceURLs"].is_null(),
            "{what}: unexpected resourceNames/nonResourceURLs in {rule:?}"
        );
        let groups = strings(&rule["apiGroups"], "apiGroups");
        let resources = strings(&rule["resources"], "resources");
        let verbs = strings(&rule["verbs"], "verbs");
        assert!(
            !groups.is_empty() && !resources.is_empty() && !verbs.is_empty(),
            "{what}: empty list in {rule:?}"
        );
        for item in groups.iter().chain(&resources).chain(&verbs) {
            assert!(!item.contains('*'), "{what}: wildcard {item:?} in {rule:?}");
        }
        for group in &groups {
            for resource in &resources {
                for verb in &verbs {
                    set.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    set
}

fn expected_rules(table: &[(&str, &str, &[&str])]) -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for (group, resource, verbs) in table {
        for verb in *verbs {
            set.insert((group.to_string(), resource.to_string(), verb.to_string()));
        }
    }
    set
}

fn assert_operator_rules(rules: &Value, what: &str) {
    let granted = rule_set(rules, what);
    assert_eq!(
        granted,
        expected_rules(OPERATOR_RULES),
        "{what}: operator rules"
    );
    for (group, resource, verb) in &granted {
        if group.is_empty() && resource == "secrets" {
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str()),
                "{what}: secrets must be read only, found {verb}"
            );
        }
    }
}

fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    seq(
        &deployment["spec"]["template"]["spec"]["containers"],
        "containers",
    )
    .iter()
    .find(|c| c["name"].as_str() == Some(name))
    .unwrap_or_else(|| panic!("no container {name}"))
}

fn assert_hardened(deployment: &Value, container: &Value) {
    let pod = &deployment["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(
        pod["runAsNonRoot"].as_bool(),
        Some(true),
        "pod runAsNonRoot"
    );
    let sc = &container["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true), "runAsNonRoot");
    assert_eq!(
        sc["readOnlyRootFilesystem"].as_bool(),
        Some(true),
        "readOnlyRootFilesystem"
    );
    assert_eq!(
        sc["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "allowPrivilegeEscalation"
    );
    assert_eq!(
        strings(&sc["capabilities"]["drop"], "capabilities.drop"),
        ["ALL"]
    );
    assert!(sc["capabilities"]["add"].is_null(), "no capability added");
    assert!(sc["privileged"].as_bool() != Some(true), "not privileged");
    assert_eq!(
        sc["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault"),
        "seccompProfile"
    );
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                !container["resources"][kind][resource].is_null(),
                "resources.{kind}.{resource} missing"
            );
        }
    }
}

/// Liveness on `/healthz`, readiness on `/readyz`, both over HTTP on `port`.
fn assert_probes(container: &Value, port: u64) {
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe} path");
        assert_eq!(get["port"].as_u64(), Some(port), "{probe} port");
    }
}

fn assert_port(container: &Value, name: &str, port: u64) {
    let ports = seq(&container["ports"], "ports");
    assert!(
        ports
            .iter()
            .any(|p| p["name"].as_str() == Some(name) && p["containerPort"].as_u64() == Some(port)),
        "container port {name} {port} missing: {ports:?}"
    );
}

/// The Service selects the Deployment's pods and exposes `port` under `name`.
fn assert_service_fronts(service: &Value, deployment: &Value, name: &str, port: u64) {
    let selector = service["spec"]["selector"]
        .as_mapping()
        .expect("service selector");
    assert!(!selector.is_empty(), "empty service selector");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in selector {
        assert_eq!(
            &labels[str_of(key, "label key")],
            value,
            "service selector {key:?} does not match the pod labels"
        );
    }
    let ports = seq(&service["spec"]["ports"], "service ports");
    assert!(
        ports.iter().any(|p| p["name"].as_str() == Some(name)
            && p["port"].as_u64() == Some(port)
            && (p["targetPort"].as_str() == Some(name) || p["targetPort"].as_u64() == Some(port))),
        "service port {name} {port} missing: {ports:?}"
    );
}

fn env_var<'a>(container: &'a Value, name: &str) -> &'a Value {
    seq(&container["env"], "env")
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("env {name} missing"))
}

// -------------------------------------------------------------------------------------- tests

#[test]
fn every_manifest_parses_and_each_kustomization_lists_its_folder() {
    for dir in [
        "deploy/operator",
        "deploy/link-server",
        "deploy/helm/clusterlink/crds",
        "deploy/crds",
    ] {
        let paths = yaml_files(&repo().join(dir));
        assert!(!paths.is_empty(), "{dir} has no YAML");
        let mut listed = None;
        let mut present = BTreeSet::new();
        for path in &paths {
            let docs = documents(path);
            assert!(!docs.is_empty(), "{} has no document", path.display());
            if is_kustomization(path) {
                assert_eq!(docs.len(), 1);
                assert_eq!(docs[0]["kind"].as_str(), Some("Kustomization"));
                listed = Some(
                    strings(&docs[0]["resources"], "resources")
                        .into_iter()
                        .collect::<BTreeSet<_>>(),
                );
                continue;
            }
            present.insert(path.file_name().unwrap().to_str().unwrap().to_string());
            for doc in &docs {
                for field in ["apiVersion", "kind"] {
                    assert!(
                        doc[field].is_string(),
                        "{}: {field} missing",
                        path.display()
                    );
                }
                assert!(
                    doc["metadata"]["name"].is_string(),
                    "{}: metadata.name missing",
                    path.display()
                );
            }
        }
        if dir == "deploy/operator" || dir == "deploy/link-server" {
            assert_eq!(
                listed.as_ref(),
                Some(&present),
                "{dir}/kustomization.yaml must list exactly the manifests of {dir}"
            );
        }
    }
}

#[test]
fn chart_crds_are_the_generated_crds() {
    let generated = std::fs::read(repo().join("deploy/crds/clusterlink-crds.yaml")).unwrap();
    let shipped =
        std::fs::read(repo().join("deploy/helm/clusterlink/crds/clusterlink-crds.yaml")).unwrap();
    assert!(
        generated == shipped,
        "deploy/helm/clusterlink/crds/clusterlink-crds.yaml differs from deploy/crds: \
         cp deploy/crds/clusterlink-crds.yaml deploy/helm/clusterlink/crds/"
    );
    let names: Vec<String> = yaml_files(&repo().join("deploy/helm/clusterlink/crds"))
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["clusterlink-crds.yaml"]);
}

#[test]
fn operator_rbac_is_least_privilege() {
    let objects = objects("deploy/operator");

    let namespace = find(&objects, "Namespace", OPERATOR_NAMESPACE);
    assert!(namespace["metadata"]["namespace"].is_null());
    let account = find(&objects, "ServiceAccount", OPERATOR_NAME);
    assert_eq!(
        account["metadata"]["namespace"].as_str(),
        Some(OPERATOR_NAMESPACE)
    );
    let subject = |binding: &Value| {
        let subjects = seq(&binding["subjects"], "subjects");
        assert_eq!(
            subjects.len(),
            1,
            "one subject: the operator's ServiceAccount"
        );
        assert_eq!(subjects[0]["kind"].as_str(), Some("ServiceAccount"));
        assert_eq!(subjects[0]["name"].as_str(), Some(OPERATOR_NAME));
        assert_eq!(subjects[0]["namespace"].as_str(), Some(OPERATOR_NAMESPACE));
    };

    // Cluster-wide: exactly the operator's rules.
    let cluster_role = find(&objects, "ClusterRole", OPERATOR_NAME);
    assert!(cluster_role["aggregationRule"].is_null());
    assert_operator_rules(&cluster_role["rules"], "ClusterRole");
    let cluster_binding = find(&objects, "ClusterRoleBinding", OPERATOR_NAME);
    assert_eq!(
        cluster_binding["roleRef"]["kind"].as_str(),
        Some("ClusterRole")
    );
    assert_eq!(
        cluster_binding["roleRef"]["name"].as_str(),
        Some(OPERATOR_NAME)
    );
    subject(cluster_binding);

    // Leases: a Role in the operator's namespace, and nowhere else.
    let roles: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some("Role"))
        .collect();
    assert_eq!(roles.len(), 1, "one Role: leader election");
    let role = roles[0];
    assert_eq!(
        role["metadata"]["namespace"].as_str(),
        Some(OPERATOR_NAMESPACE)
    );
    assert_eq!(
        rule_set(&role["rules"], "Role"),
        expected_rules(LEASE_RULES)
    );
    let role_name = str_of(&role["metadata"]["name"], "Role name");
    let bindings: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some("RoleBinding"))
        .collect();
    assert_eq!(bindings.len(), 1);
    assert_eq!(
        bindings[0]["metadata"]["namespace"].as_str(),
        Some(OPERATOR_NAMESPACE)
    );
    assert_eq!(bindings[0]["roleRef"]["kind"].as_str(), Some("Role"));
    assert_eq!(bindings[0]["roleRef"]["name"].as_str(), Some(role_name));
    subject(bindings[0]);

    // Nothing else grants anything.
    let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    let expected: BTreeSet<&str> = [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ]
    .into_iter()
    .collect();
    assert_eq!(kinds, expected);
    assert_eq!(
        objects
            .iter()
            .filter(|o| o["kind"].as_str() == Some("ClusterRole"))
            .count(),
        1
    );
}

#[test]
fn operator_deployment_runs_the_operator_hardened() {
    let objects = objects("deploy/operator");
    let deployment = find(&objects, "Deployment", OPERATOR_NAME);
    assert_eq!(
        deployment["metadata"]["namespace"].as_str(),
        Some(OPERATOR_NAMESPACE)
    );
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"].as_str(), Some(OPERATOR_NAME));
    assert_ne!(pod["automountServiceAccountToken"].as_bool(), Some(false));

    let c = container(deployment, "operator");
    assert_eq!(
        c["image"].as_str(),
        Some(format!("clusterlink:{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(strings(&c["args"], "args"), OPERATOR_ARGS);
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        assert_eq!(
            env_var(c, name)["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
            Some(field),
            "{name} from the downward API"
        );
    }
    assert_eq!(env_var(c, "RUST_LOG")["value"].as_str(), Some("info"));
    assert_eq!(
        env_var(c, "CLUSTERLINK_LOG_FORMAT")["value"].as_str(),
        Some("json"),
        "the operator logs JSON lines"
    );
    assert_port(c, "metrics", 9090);
    assert_probes(c, 9090);
    assert_hardened(deployment, c);

    let service = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Service"))
        .expect("metrics Service");
    assert_eq!(
        service["metadata"]["namespace"].as_str(),
        Some(OPERATOR_NAMESPACE)
    );
    assert_service_fronts(service, deployment, "metrics", 9090);
}

#[test]
fn link_server_deployment_serves_rest_with_the_password_encoder() {
    let objects = objects("deploy/link-server");
    let deployment = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Deployment"))
        .expect("link server Deployment");
    let c = container(deployment, "server");
    assert_eq!(
        c["image"].as_str(),
        Some(format!("clusterlink:{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(strings(&c["args"], "args"), LINK_SERVER_ARGS);
    assert_eq!(
        env_var(c, "CLUSTERLINK_LOG_FORMAT")["value"].as_str(),
        Some("json"),
        "the link server logs JSON lines"
    );
    assert_port(c, "http", 8090);
    assert_probes(c, 8090);
    assert_hardened(deployment, c);

    // The secret file argument is the Secret's key, mounted read-only.
    let secret_file = Path::new(LINK_SERVER_ARGS[6]);
    let mount = seq(&c["volumeMounts"], "volumeMounts")
        .iter()
        .find(|m| m["mountPath"].as_str().map(Path::new) == secret_file.parent())
        .expect("password encoder mount");
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let volume_name = str_of(&mount["name"], "mount name");
    let volume = seq(
        &deployment["spec"]["template"]["spec"]["volumes"],
        "volumes",
    )
    .iter()
    .find(|v| v["name"].as_str() == Some(volume_name))
    .expect("password encoder volume");
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("password-encoder-secret")
    );
    let items = seq(&volume["secret"]["items"], "secret items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["key"].as_str(), Some("password-encoder-secret"));
    assert_eq!(
        items[0]["path"].as_str().map(Path::new),
        secret_file.file_name().map(Path::new)
    );

    let service = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Service"))
        .expect("link server Service");
    assert_eq!(
        service["metadata"]["namespace"],
        deployment["metadata"]["namespace"]
    );
    assert_service_fronts(service, deployment, "http", 8090);
}

#[test]
fn chart_metadata_and_values() {
    let chart_dir = repo().join("deploy/helm/clusterlink");
    let chart = &documents(&chart_dir.join("Chart.yaml"))[0];
    assert_eq!(chart["apiVersion"].as_str(), Some("v2"));
    assert_eq!(chart["name"].as_str(), Some("clusterlink"));
    assert!(chart["version"].is_string());
    assert_eq!(
        chart["appVersion"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "appVersion is the image tag by default"
    );

    let values = &documents(&chart_dir.join("values.yaml"))[0];
    for path in [
        "image.repository",
        "image.tag",
        "image.pullPolicy",
        "replicas",
        "watchNamespace",
        "leaderElection.enabled",
        "resources",
        "nodeSelector",
        "tolerations",
        "affinity",
        "podAnnotations",
        "metrics.service.enabled",
        "metrics.serviceMonitor.enabled",
        "dashboard.enabled",
        "dashboard.labels.grafana_dashboard",
        "prometheusRule.enabled",
        "prometheusRule.lagSecondsThreshold",
        "linkServers",
        "linkServer.engine",
        "linkServer.extraArgs",
        "linkServer.extraEnv",
        "linkServer.extraVolumes",
        "linkServer.extraVolumeMounts",
    ] {
        assert!(lookup(values, path).is_some(), "values.yaml lacks {path}");
    }
    assert_eq!(lookup(values, "watchNamespace"), Some(&Value::from("")));
    assert_eq!(
        lookup(values, "leaderElection.enabled"),
        Some(&Value::from(true))
    );
    assert_eq!(lookup(values, "replicas").and_then(Value::as_u64), Some(1));
    // What needs the Prometheus Operator's CRDs is off by default.
    for path in ["metrics.serviceMonitor.enabled", "prometheusRule.enabled"] {
        assert_eq!(lookup(values, path), Some(&Value::from(false)), "{path}");
    }

    // The chart's operator rules are the plain manifests' rules (the helper is plain YAML).
    let helpers = read(&chart_dir.join("templates/_helpers.tpl"));
    let start = helpers
        .find(r#"{{- define "clusterlink.operatorRules" -}}"#)
        .expect("clusterlink.operatorRules helper");
    let body = &helpers[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let body = &body[..body.find("{{- end }}").expect("end of the rules helper")];
    assert!(!body.contains("{{"), "the rules helper is plain YAML");
    let rules: Value = serde_norway::from_str(body).expect("rules helper parses");
    assert_operator_rules(&rules, "chart operatorRules");

    // The leader-election Role of the chart grants the same lease verbs.
    let rbac = read(&chart_dir.join("templates/rbac.yaml"));
    assert!(rbac.contains(r#"resources: ["leases"]"#));
    assert!(rbac.contains(r#"verbs: ["get", "create", "update", "patch"]"#));
    assert_eq!(rbac.matches("leases").count(), 1, "leases only once");
    assert!(rbac.contains("namespace: {{ .Release.Namespace }}"));

    // The options the values turn into operator arguments.
    let deployment = read(&chart_dir.join("templates/deployment.yaml"));
    for flag in [
        "--namespace",
        "--no-leader-election",
        "--lease-namespace",
        "--lease-name",
        "--metrics-listen",
    ] {
        assert!(
            deployment.contains(flag),
            "deployment template lacks {flag}"
        );
    }
}

/// A dotted path into values (`a.b.c`), `None` when a key is missing.
fn lookup<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(values, |v, key| v.as_mapping()?.get(key))
}

/// The actions (`{{ ... }}` contents) of a template, with their line numbers, or what is wrong.
fn actions(source: &str) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let line = |at: usize| source[..at].matches('\n').count() + 1;
    while pos < source.len() {
        let rest = &source[pos..];
        let open = rest.find("{{");
        let close = rest.find("}}");
        let open = match (open, close) {
            (None, None) => break,
            (None, Some(c)) => {
                return Err(format!(
                    "line {}: closing delimiter without opening",
                    line(pos + c)
                ))
            }
            (Some(o), Some(c)) if c < o => {
                return Err(format!(
                    "line {}: closing delimiter without opening",
                    line(pos + c)
                ))
            }
            (Some(o), _) => pos + o,
        };
        let inner_start = open + 2;
        let after = &source[inner_start..];
        let trimmed = after.strip_prefix("- ").unwrap_or(after);
        let end = if trimmed.starts_with("/*") {
            // A comment runs to `*/`, then the delimiter.
            let c = after
                .find("*/")
                .ok_or_else(|| format!("line {}: unclosed comment", line(open)))?;
            let tail = &after[c + 2..];
            let d = if tail.starts_with("}}") {
                0
            } else if tail.starts_with(" -}}") {
                2
            } else {
                return Err(format!(
                    "line {}: comment not closed by the delimiter",
                    line(open)
                ));
            };
            c + 2 + d
        } else {
            let (c, o) = action_end(after);
            let c =
                c.ok_or_else(|| format!("line {}: opening delimiter never closed", line(open)))?;
            if let Some(o) = o {
                return Err(format!(
                    "line {}: opening delimiter inside an action",
                    line(inner_start + o)
                ));
            }
            c
        };
        out.push((line(open), after[..end].to_string()));
        pos = inner_start + end + 2;
    }
    Ok(out)
}

/// Where the action that `after` starts with ends (its `}}`), and where a `{{` opens inside it
/// first, if one does: both outside the action's string literals (`"..."`, `` `...` ``, `'c'`),
/// which may hold delimiters (`{{ `{{ $labels.link }}` }}` writes Prometheus's template).
fn action_end(after: &str) -> (Option<usize>, Option<usize>) {
    let bytes = after.as_bytes();
    let mut opened = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => return (Some(i), opened),
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                opened.get_or_insert(i);
            }
            _ => {}
        }
        i += 1;
    }
    (None, opened)
}

/// The `.Values.a.b` paths an action references, each with whether it went through `$`.
fn values_paths(action: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let needle = ".Values.";
    let mut from = 0;
    while let Some(i) = action[from..].find(needle) {
        let at = from + i;
        let rooted = action[..at].ends_with('$');
        let path: String = action[at + needle.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        out.push((path.trim_end_matches('.').to_string(), rooted));
        from = at + needle.len();
    }
    out
}

/// The quoted names after `keyword` in an action (`include "x"`, `define "x"`).
fn named(action: &str, keyword: &str) -> Vec<String> {
    let needle = format!("{keyword} \"");
    action
        .match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &action[i + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn helm_templates_are_well_formed_and_use_defined_values() {
    let chart_dir = repo().join("deploy/helm/clusterlink");
    let values = &documents(&chart_dir.join("values.yaml"))[0];
    let templates = files(&chart_dir.join("templates"), &[".yaml", ".tpl", ".txt"]);
    let names: HashSet<String> = templates
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    for expected in [
        "_helpers.tpl",
        "deployment.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "service.yaml",
        "link-servers.yaml",
        "servicemonitor.yaml",
        "dashboard.yaml",
        "prometheusrule.yaml",
    ] {
        assert!(names.contains(expected), "templates/{expected} missing");
    }

    let mut defined = HashSet::new();
    let mut included = Vec::new();
    for path in &templates {
        let file = path.display().to_string();
        let source = read(path);
        let actions = actions(&source).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Blocks: if/range/with/define/block ... end.
        let mut blocks: Vec<(&str, usize)> = Vec::new();
        for (line, action) in &actions {
            let body = action
                .trim_start_matches('-')
                .trim()
                .trim_end_matches('-')
                .trim();
            if body.starts_with("/*") {
                continue;
            }
            let word = body.split_whitespace().next().unwrap_or("");
            // Inside range/with, `.` is no longer the root: values go through `$`.
            let scoped = blocks.iter().any(|(k, _)| *k == "range" || *k == "with");
            for (path, rooted) in values_paths(body) {
                assert!(
                    lookup(values, &path).is_some(),
                    "{file}:{line}: .Values.{path} is not in values.yaml"
                );
                assert!(
                    rooted || !scoped,
                    "{file}:{line}: .Values.{path} inside range/with must be $.Values"
                );
            }
            defined.extend(named(body, "define"));
            for name in named(body, "include")
                .into_iter()
                .chain(named(body, "template"))
            {
                included.push((file.clone(), *line, name));
            }
            match word {
                "if" | "range" | "with" | "define" | "block" => blocks.push((word, *line)),
                "else" => assert!(!blocks.is_empty(), "{file}:{line}: else outside a block"),
                "end" => {
                    assert!(blocks.pop().is_some(), "{file}:{line}: end without a block");
                }
                _ => {}
            }
        }
        assert!(blocks.is_empty(), "{file}: unclosed blocks {blocks:?}");
        if !file.ends_with(".tpl") {
            assert!(
                named(&source, "define").is_empty(),
                "{file}: defines belong in _helpers.tpl"
            );
        }
    }
    for (file, line, name) in included {
        assert!(
            defined.contains(&name),
            "{file}:{line}: include of undefined {name:?}"
        );
    }
}

#[test]
fn template_checker_catches_mistakes() {
    assert!(actions("a {{ .x }} b {{- if .y }}c{{ end -}}").is_ok());
    assert!(actions("{{/* a comment */}} {{- /* another */ -}}").is_ok());
    assert!(actions("a {{ .x } b").is_err());
    assert!(actions("a .x }} b").is_err());
    assert!(actions("{{ .a {{ .b }}").is_err());
    // Delimiters inside string literals belong to the string.
    assert_eq!(
        actions("a: {{ `{{ $labels.link }}` | quote }} b: {{ printf \"}}%v\" .x }}").unwrap(),
        [
            (1, " `{{ $labels.link }}` | quote ".to_string()),
            (1, " printf \"}}%v\" .x ".to_string())
        ]
    );
    assert!(actions("{{ `unclosed }}").is_err());
    assert_eq!(
        values_paths("default $.Values.a.b .Values.c_d.e)"),
        [("a.b".to_string(), true), ("c_d.e".to_string(), false)]
    );
    assert_eq!(named(r#"include "x.y" . | nindent 4"#, "include"), ["x.y"]);
}

#[test]
fn dockerfile_builds_this_binary() {
    let dockerfile = read(&repo().join("Dockerfile"));
    let package = env!("CARGO_PKG_NAME");
    assert!(
        dockerfile.contains(&format!("cargo build --release --locked -p {package}")),
        "the Dockerfile must build package {package}"
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_clusterlink"))
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for needle in [
        "FROM rust:1-bookworm AS builder".to_string(),
        "FROM gcr.io/distroless/cc-debian12:nonroot".to_string(),
        format!("target/release/{binary}"),
        format!("ENTRYPOINT [\"/{binary}\"]"),
        "USER nonroot".to_string(),
    ] {
        assert!(dockerfile.contains(&needle), "Dockerfile lacks {needle}");
    }
    let ignore = read(&repo().join(".dockerignore"));
    for entry in ["target/", ".deps/", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore lacks {entry}"
        );
    }
}

/// The lines of a TOML section (`[name]`), up to the next section.
fn toml_section<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("[{name}]");
    text.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn release_image_is_labelled_and_its_binary_stripped() {
    // The image's binary is the release profile's, and that profile strips it.
    let cargo = read(&repo().join("Cargo.toml"));
    let release = toml_section(&cargo, "profile.release");
    let setting = |key: &str| {
        release.iter().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    assert!(
        matches!(setting("strip").as_deref(), Some("true" | "\"symbols\"")),
        "[profile.release] must strip symbols: {release:?}"
    );
    assert!(
        !matches!(setting("debug").as_deref(), Some("true" | "2" | "\"full\"")),
        "no full debug info in the release binary: {release:?}"
    );
    assert_eq!(
        toml_section(&cargo, "workspace.package")
            .iter()
            .find(|l| l.starts_with("license"))
            .copied(),
        Some("license = \"Apache-2.0\"")
    );

    let dockerfile = read(&repo().join("Dockerfile"));
    assert!(dockerfile.contains("cargo build --release"));
    // The labels are on the final stage (the one the image is).
    let run_stage = &dockerfile[dockerfile.rfind("\nFROM ").expect("a FROM")..];
    let labels: String = run_stage
        .lines()
        .skip_while(|l| !l.starts_with("LABEL "))
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("COPY") && !l.starts_with("USER"))
        .collect::<Vec<_>>()
        .join("\n");
    let label = |key: &str| -> String {
        let at = labels
            .find(&format!("org.opencontainers.image.{key}="))
            .unwrap_or_else(|| panic!("no org.opencontainers.image.{key} label in {labels}"));
        let value = &labels[at..];
        let value = &value[value.find('"').unwrap() + 1..];
        value[..value.find('"').unwrap()].to_string()
    };
    assert_eq!(label("title"), "clusterlink");
    assert_eq!(label("licenses"), "Apache-2.0");
    assert!(!label("description").is_empty());
    // The build arguments they come from, with this version as the default.
    for (key, arg) in [("version", "VERSION"), ("source", "SOURCE")] {
        assert_eq!(label(key), format!("${{{arg}}}"));
        assert!(
            run_stage.contains(&format!("\nARG {arg}")),
            "ARG {arg} missing in the final stage"
        );
    }
    assert!(run_stage.contains(&format!("\nARG VERSION={}\n", env!("CARGO_PKG_VERSION"))));

    // The license the labels name is the one shipped.
    let license = read(&repo().join("LICENSE"));
    assert!(
        license.contains("Apache License\n                           Version 2.0, January 2004")
    );
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
    for (n, section) in [
        "Definitions",
        "Grant of Copyright License",
        "Grant of Patent License",
        "Redistribution",
        "Submission of Contributions",
        "Trademarks",
        "Disclaimer of Warranty",
        "Limitation of Liability",
        "Accepting Warranty or Additional Liability",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            license.contains(&format!("\n   {}. {section}.", n + 1)),
            "LICENSE lacks section {}: {section}",
            n + 1
        );
    }
    let changelog = read(&repo().join("CHANGELOG.md"));
    assert!(changelog.starts_with("# Changelog\n"));
    assert!(changelog.contains("## [Unreleased]"));
}

/// Every container the manifests and the chart run logs JSON lines (`CLUSTERLINK_LOG_FORMAT`),
/// what log pipelines in a cluster read.
#[test]
fn every_container_logs_json() {
    for path in [
        "deploy/operator/deployment.yaml",
        "deploy/link-server/deployment.yaml",
        "deploy/helm/clusterlink/templates/deployment.yaml",
        "deploy/helm/clusterlink/templates/link-servers.yaml",
    ] {
        let text = read(&repo().join(path));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let containers = lines.iter().filter(|l| l.starts_with("image:")).count();
        let json = lines
            .windows(2)
            .filter(|w| w[0] == "- name: CLUSTERLINK_LOG_FORMAT" && w[1] == "value: json")
            .count();
        assert!(containers > 0, "{path}: no container");
        assert_eq!(
            json, containers,
            "{path}: a container without CLUSTERLINK_LOG_FORMAT=json"
        );
    }
}

/// The optional NetworkPolicy component: it selects exactly the example link server's pods, in
/// its namespace, opens its REST port only to the operator's pods in the operator's
/// namespace, and its kustomization is a Component that lists it.
#[test]
fn link_server_network_policy_admits_only_the_operator_to_the_rest_port() {
    let dir = "deploy/link-server/network-policy";
    let kustomization = documents(&repo().join(dir).join("kustomization.yaml"));
    assert_eq!(kustomization[0]["kind"].as_str(), Some("Component"));
    assert_eq!(
        strings(&kustomization[0]["resources"], "resources"),
        ["networkpolicy.yaml"]
    );
    let policy = &objects(dir)[0];
    assert_eq!(policy["kind"].as_str(), Some("NetworkPolicy"));
    let server = objects("deploy/link-server")
        .into_iter()
        .find(|o| o["kind"].as_str() == Some("Deployment"))
        .unwrap();
    assert_eq!(
        policy["metadata"]["namespace"],
        server["metadata"]["namespace"]
    );
    let pod_labels = &server["spec"]["template"]["metadata"]["labels"];
    let selected = policy["spec"]["podSelector"]["matchLabels"]
        .as_mapping()
        .unwrap();
    assert!(!selected.is_empty());
    for (k, v) in selected {
        assert_eq!(
            &pod_labels[k.as_str().unwrap()],
            v,
            "selects the link server's pods"
        );
    }
    let rule = &policy["spec"]["ingress"][0];
    assert_eq!(rule["ports"][0]["port"].as_u64(), Some(8090));
    let from = seq(&rule["from"], "from");
    assert_eq!(from.len(), 1, "the operator only");
    let operator = objects("deploy/operator")
        .into_iter()
        .find(|o| o["kind"].as_str() == Some("Deployment"))
        .unwrap();
    assert_eq!(
        from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        operator["metadata"]["namespace"]
    );
    let operator_labels = &operator["spec"]["template"]["metadata"]["labels"];
    for (k, v) in from[0]["podSelector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(
            &operator_labels[k.as_str().unwrap()],
            v,
            "selects the operator's pods"
        );
    }
}
