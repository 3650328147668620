//! The reference documents generated from the code (`docs/metrics.md`, `docs/link-configs.md`),
//! printed by hidden subcommands and compared with the committed files by tests, as the CRDs are.

use clusterlink_metrics::DocSection;

/// `docs/metrics.md`: the link server's metrics, the operator's, and the ones both expose.
pub fn metrics_markdown() -> String {
    clusterlink_metrics::markdown(&[
        DocSection {
            title: "Link server (`clusterlink server`)",
            intro: "Served at `/metrics` on the REST listener. The link and mirror values are \
                    read from the engines at each scrape; counters count since the process \
                    started.",
            metrics: clusterlink_server::metrics::METRICS.to_vec(),
        },
        DocSection {
            title: "Operator (`clusterlink operator`)",
            intro: "Served at `/metrics` on `--metrics-listen`, with `/healthz` and `/readyz`.",
            metrics: clusterlink_operator::metrics::METRICS.to_vec(),
        },
        DocSection {
            title: "Both processes",
            intro: "Build information, and process metrics read from `/proc/self` (Linux) at \
                    each scrape, under the names Prometheus' own clients use.",
            metrics: clusterlink_metrics::common_metrics(),
        },
    ])
}

/// `docs/link-configs.md`.
pub fn link_configs_markdown() -> String {
    clusterlink_server::configs_doc::markdown()
}
