//! NetworkPolicies: deny everything in the namespace by default, then allow only what an
//! instance needs — the ingress controller, monitoring and the operator in, the database, DNS and the chain
//! endpoints out.

use std::collections::BTreeSet;

use mono_crds::DatabaseMode;
use serde_json::{Value, json};

use super::{Child, ChildConfig, ChildKind, Ctx, INSTANCE_PORT, POSTGRES_PORT, database_name};

/// Components whose pods run the instance image and talk to the database and the chain.
const CLIENT_COMPONENTS: [&str; 4] = ["instance", "migration", "import", "export"];
/// Ports CloudNativePG pods use to reach the Kubernetes API server.
const API_SERVER_PORTS: [u16; 2] = [443, 6443];
/// Status port of CloudNativePG's instance manager.
const CNPG_STATUS_PORT: i32 = 8000;

pub(crate) fn policies(ctx: &Ctx<'_>, config: &ChildConfig) -> Vec<Child> {
    let mut policies = vec![
        default_deny(ctx),
        instance_ingress(ctx, config),
        egress(ctx),
    ];
    match ctx.database_mode() {
        DatabaseMode::Builtin => policies.push(builtin_database(ctx)),
        DatabaseMode::Cloudnativepg => policies.push(cnpg_database(ctx, config)),
        DatabaseMode::External => {}
    }
    policies
}

/// Port of an `http(s)://` or `ws(s)://` URL, explicit or implied by the scheme.
pub(crate) fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    // A bracketed IPv6 literal holds colons of its own; the port follows the `]`.
    let after_host = match host_port.rfind(']') {
        Some(end) => &host_port[end + 1..],
        None => host_port,
    };
    match after_host.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None => match scheme {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        },
    }
}

fn policy(ctx: &Ctx<'_>, suffix: &str, spec: Value) -> Child {
    let name = format!("{}-{suffix}", ctx.name);
    Child {
        kind: ChildKind::NetworkPolicy,
        object: json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": ctx.metadata(&name, "isolation"),
            "spec": spec,
        }),
        name,
    }
}

fn namespace_peer(namespace: &str) -> Value {
    json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}})
}

fn tcp(port: i32) -> Value {
    json!({"protocol": "TCP", "port": port})
}

fn clients_selector(ctx: &Ctx<'_>) -> Value {
    json!({
        "matchLabels": {"app.kubernetes.io/instance": ctx.name},
        "matchExpressions": [{
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": CLIENT_COMPONENTS,
        }],
    })
}

fn dns_rule() -> Value {
    json!({
        "to": [namespace_peer("kube-system")],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    })
}

fn default_deny(ctx: &Ctx<'_>) -> Child {
    policy(
        ctx,
        "default-deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    )
}

fn instance_ingress(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    policy(
        ctx,
        "instance-ingress",
        json!({
            "podSelector": {"matchLabels": ctx.selector_labels("instance")},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [
                    namespace_peer(&config.ingress_namespace),
                    namespace_peer(&config.monitoring_namespace),
                    namespace_peer(&config.operator_namespace),
                ],
                "ports": [tcp(INSTANCE_PORT)],
            }],
        }),
    )
}

fn egress(ctx: &Ctx<'_>) -> Child {
    let chain = &ctx.coop.spec.chain;
    let chain_ports: BTreeSet<u16> = [&chain.api_url, &chain.ship_url]
        .into_iter()
        .filter_map(|url| url_port(url))
        .collect();
    let database_rule = match ctx.database_mode() {
        DatabaseMode::Builtin => json!({
            "to": [{"podSelector": {"matchLabels": ctx.selector_labels("database")}}],
            "ports": [tcp(POSTGRES_PORT)],
        }),
        DatabaseMode::Cloudnativepg => json!({
            "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": database_name(ctx.name)}}}],
            "ports": [tcp(POSTGRES_PORT)],
        }),
        // The address of an external database is not known here, only its usual port.
        DatabaseMode::External => json!({"ports": [tcp(POSTGRES_PORT)]}),
    };
    let chain_rule = json!({
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}],
        "ports": chain_ports.iter().map(|port| tcp(i32::from(*port))).collect::<Vec<_>>(),
    });
    policy(
        ctx,
        "egress",
        json!({
            "podSelector": clients_selector(ctx),
            "policyTypes": ["Egress"],
            "egress": [dns_rule(), database_rule, chain_rule],
        }),
    )
}

fn builtin_database(ctx: &Ctx<'_>) -> Child {
    policy(
        ctx,
        "database",
        json!({
            "podSelector": {"matchLabels": ctx.selector_labels("database")},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"podSelector": clients_selector(ctx)}],
                "ports": [tcp(POSTGRES_PORT)],
            }],
        }),
    )
}

fn cnpg_database(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    let cluster = json!({"matchLabels": {"cnpg.io/cluster": database_name(ctx.name)}});
    policy(
        ctx,
        "database",
        json!({
            "podSelector": cluster,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [{"podSelector": clients_selector(ctx)}], "ports": [tcp(POSTGRES_PORT)]},
                {"from": [{"podSelector": cluster}], "ports": [tcp(POSTGRES_PORT), tcp(CNPG_STATUS_PORT)]},
                {"from": [namespace_peer(&config.cnpg_namespace)], "ports": [tcp(POSTGRES_PORT), tcp(CNPG_STATUS_PORT)]},
            ],
            "egress": [
                dns_rule(),
                {"to": [{"podSelector": cluster}], "ports": [tcp(POSTGRES_PORT), tcp(CNPG_STATUS_PORT)]},
                {"ports": API_SERVER_PORTS.iter().map(|port| tcp(i32::from(*port))).collect::<Vec<_>>()},
            ],
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_chain_urls() {
        let cases = [
            ("https://api.coopos.example", Some(443)),
            ("http://api.coopos.example/v1", Some(80)),
            ("wss://ship.coopos.example", Some(443)),
            ("ws://127.0.0.1:8080", Some(8080)),
            ("http://user:pw@node:8888/path?x=1", Some(8888)),
            ("http://[::1]:9000/", Some(9000)),
            ("https://[::1]/", Some(443)),
            ("ftp://node", None),
            ("node:8080", None),
            ("http://node:notaport", None),
        ];
        for (url, expected) in cases {
            assert_eq!(url_port(url), expected, "{url}");
        }
    }
}
