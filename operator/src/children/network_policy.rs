//! NetworkPolicies: deny everything in the namespace by default, then allow only what an
//! instance needs — the ingress controller, monitoring and the operator in; the database, the
//! cluster DNS, and the chain through the CIDRs or the proxy staff configured out
//! ([`EgressConfig`]); cert-manager's HTTP-01 solver in while a certificate is issued.

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use mono_crds::DatabaseMode;

use super::egress::EgressConfig;
use super::{
    Child, ChildConfig, ChildKind, Ctx, DatabaseAddress, INSTANCE_PORT, POSTGRES_PORT,
    database_name,
};

/// Components whose pods run the instance image and talk to the database and the chain.
const CLIENT_COMPONENTS: [&str; 4] = ["instance", "migration", "import", "export"];
/// Ports CloudNativePG pods use to reach the Kubernetes API server.
const API_SERVER_PORTS: [u16; 2] = [443, 6443];
/// Status port of CloudNativePG's instance manager.
const CNPG_STATUS_PORT: i32 = 8000;
/// SMTP ports an instance with e-mail reaches (relay, implicit TLS, submission); the URL's
/// own port lives in the cooperative's Secret, which the operator does not read.
const SMTP_PORTS: [u16; 3] = [25, 465, 587];
/// Port of cert-manager's HTTP-01 solver pods.
const ACME_SOLVER_PORT: i32 = 8089;
/// Label cert-manager puts on its HTTP-01 solver pods.
const ACME_SOLVER_LABEL: &str = "acme.cert-manager.io/http01-solver";

/// The policies of `ctx`'s namespace; `external` is where an external database is, when its
/// Secret has been read.
pub(crate) fn policies(
    ctx: &Ctx<'_>,
    config: &ChildConfig,
    external: Option<&DatabaseAddress>,
) -> Vec<Child> {
    let mut policies = vec![
        default_deny(ctx),
        instance_ingress(ctx, config),
        egress(ctx, &config.egress, external),
    ];
    match ctx.database_mode() {
        DatabaseMode::Builtin => policies.push(builtin_database(ctx)),
        DatabaseMode::Cloudnativepg => policies.push(cnpg_database(ctx, config)),
        DatabaseMode::External => {}
    }
    let issued = ctx
        .coop
        .spec
        .domain
        .as_ref()
        .and_then(|domain| domain.tls.as_ref())
        .is_some_and(|tls| tls.cluster_issuer.is_some());
    if issued {
        policies.push(acme_solver(ctx, config));
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

fn policy(ctx: &Ctx<'_>, suffix: &str, spec: NetworkPolicySpec) -> Child {
    let policy = NetworkPolicy {
        metadata: ctx.metadata(&format!("{}-{suffix}", ctx.name), "isolation"),
        spec: Some(spec),
    };
    Child::typed(ChildKind::NetworkPolicy, &policy)
}

fn labels(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        ),
        ..LabelSelector::default()
    }
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(labels(&[("kubernetes.io/metadata.name", namespace)])),
        ..NetworkPolicyPeer::default()
    }
}

fn pod_peer(selector: LabelSelector) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector),
        ..NetworkPolicyPeer::default()
    }
}

/// `peer` narrowed to the pods with `selector` in its namespace, when there is a selector.
fn with_pods(
    mut peer: NetworkPolicyPeer,
    selector: &std::collections::BTreeMap<String, String>,
) -> NetworkPolicyPeer {
    if !selector.is_empty() {
        peer.pod_selector = Some(LabelSelector {
            match_labels: Some(selector.clone()),
            ..LabelSelector::default()
        });
    }
    peer
}

fn port(protocol: &str, port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.to_owned()),
        port: Some(IntOrString::Int(port)),
        ..NetworkPolicyPort::default()
    }
}

fn tcp(number: i32) -> NetworkPolicyPort {
    port("TCP", number)
}

fn tcp_all(ports: impl IntoIterator<Item = u16>) -> Vec<NetworkPolicyPort> {
    ports.into_iter().map(|p| tcp(i32::from(p))).collect()
}

fn ingress_rule(
    from: Vec<NetworkPolicyPeer>,
    ports: Vec<NetworkPolicyPort>,
) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(from),
        ports: Some(ports),
    }
}

fn egress_rule(
    to: Option<Vec<NetworkPolicyPeer>>,
    ports: Vec<NetworkPolicyPort>,
) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to,
        ports: Some(ports),
    }
}

fn policy_types(types: &[&str]) -> Option<Vec<String>> {
    Some(types.iter().map(|t| (*t).to_owned()).collect())
}

fn clients_selector(ctx: &Ctx<'_>) -> LabelSelector {
    LabelSelector {
        match_labels: labels(&[("app.kubernetes.io/instance", ctx.name)]).match_labels,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "app.kubernetes.io/component".to_owned(),
            operator: "In".to_owned(),
            values: Some(CLIENT_COMPONENTS.map(str::to_owned).to_vec()),
        }]),
    }
}

fn cluster_selector(ctx: &Ctx<'_>) -> LabelSelector {
    labels(&[("cnpg.io/cluster", &database_name(ctx.name))])
}

fn dns_rule(egress: &EgressConfig) -> NetworkPolicyEgressRule {
    egress_rule(
        Some(vec![with_pods(
            namespace_peer(egress.dns_namespace()),
            egress.dns_selector(),
        )]),
        vec![port("UDP", 53), port("TCP", 53)],
    )
}

fn default_deny(ctx: &Ctx<'_>) -> Child {
    policy(
        ctx,
        "default-deny",
        NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: policy_types(&["Ingress", "Egress"]),
            ..NetworkPolicySpec::default()
        },
    )
}

fn instance_ingress(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    policy(
        ctx,
        "instance-ingress",
        NetworkPolicySpec {
            pod_selector: Some(ctx.selector("instance")),
            policy_types: policy_types(&["Ingress"]),
            ingress: Some(vec![ingress_rule(
                vec![
                    namespace_peer(&config.ingress_namespace),
                    namespace_peer(&config.monitoring_namespace),
                    namespace_peer(&config.operator_namespace),
                ],
                vec![tcp(INSTANCE_PORT)],
            )]),
            ..NetworkPolicySpec::default()
        },
    )
}

fn egress(ctx: &Ctx<'_>, config: &EgressConfig, external: Option<&DatabaseAddress>) -> Child {
    let chain = &ctx.coop.spec.chain;
    let chain_ports: BTreeSet<u16> = [&chain.api_url, &chain.ship_url]
        .into_iter()
        .filter_map(|url| url_port(url))
        .collect();
    let database_rule = match ctx.database_mode() {
        DatabaseMode::Builtin => egress_rule(
            Some(vec![pod_peer(ctx.selector("database"))]),
            vec![tcp(POSTGRES_PORT)],
        ),
        DatabaseMode::Cloudnativepg => egress_rule(
            Some(vec![pod_peer(cluster_selector(ctx))]),
            vec![tcp(POSTGRES_PORT)],
        ),
        // The port of the URL in the database's Secret, and its address when that is an IP
        // (a host name can point anywhere); the usual port until the Secret has been read.
        DatabaseMode::External => match external {
            Some(address) => match address.host.parse::<IpAddr>() {
                Ok(ip) => {
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    let block = NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: format!("{ip}/{bits}"),
                            except: None,
                        }),
                        ..NetworkPolicyPeer::default()
                    };
                    egress_rule(Some(vec![block]), vec![tcp(i32::from(address.port))])
                }
                Err(_) => egress_rule(None, vec![tcp(i32::from(address.port))]),
            },
            None => egress_rule(None, vec![tcp(POSTGRES_PORT)]),
        },
    };
    let mut rules = vec![dns_rule(config), database_rule];
    let chain_peers = config.chain_peers();
    if !chain_peers.is_empty() {
        // The SMTP server is reached where staff let the chain be reached.
        if ctx.coop.spec.smtp.is_some() {
            rules.push(egress_rule(Some(chain_peers.clone()), tcp_all(SMTP_PORTS)));
        }
        rules.push(egress_rule(Some(chain_peers), tcp_all(chain_ports)));
    }
    if let Some(proxy) = config.proxy() {
        rules.push(egress_rule(
            Some(vec![with_pods(
                namespace_peer(&proxy.namespace),
                &proxy.selector,
            )]),
            tcp_all(proxy.ports.iter().copied()),
        ));
    }
    policy(
        ctx,
        "egress",
        NetworkPolicySpec {
            pod_selector: Some(clients_selector(ctx)),
            policy_types: policy_types(&["Egress"]),
            egress: Some(rules),
            ..NetworkPolicySpec::default()
        },
    )
}

/// cert-manager answers the HTTP-01 challenge from solver pods it starts in the
/// Cooperative's namespace; the ingress controller must reach them while a certificate is
/// issued or renewed.
fn acme_solver(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    policy(
        ctx,
        "acme-solver",
        NetworkPolicySpec {
            pod_selector: Some(labels(&[(ACME_SOLVER_LABEL, "true")])),
            policy_types: policy_types(&["Ingress"]),
            ingress: Some(vec![ingress_rule(
                vec![namespace_peer(&config.ingress_namespace)],
                vec![tcp(ACME_SOLVER_PORT)],
            )]),
            ..NetworkPolicySpec::default()
        },
    )
}

fn builtin_database(ctx: &Ctx<'_>) -> Child {
    policy(
        ctx,
        "database",
        NetworkPolicySpec {
            pod_selector: Some(ctx.selector("database")),
            policy_types: policy_types(&["Ingress"]),
            ingress: Some(vec![ingress_rule(
                vec![pod_peer(clients_selector(ctx))],
                vec![tcp(POSTGRES_PORT)],
            )]),
            ..NetworkPolicySpec::default()
        },
    )
}

fn cnpg_database(ctx: &Ctx<'_>, config: &ChildConfig) -> Child {
    let database_ports = || vec![tcp(POSTGRES_PORT), tcp(CNPG_STATUS_PORT)];
    policy(
        ctx,
        "database",
        NetworkPolicySpec {
            pod_selector: Some(cluster_selector(ctx)),
            policy_types: policy_types(&["Ingress", "Egress"]),
            ingress: Some(vec![
                ingress_rule(
                    vec![pod_peer(clients_selector(ctx))],
                    vec![tcp(POSTGRES_PORT)],
                ),
                ingress_rule(vec![pod_peer(cluster_selector(ctx))], database_ports()),
                ingress_rule(
                    vec![namespace_peer(&config.cnpg_namespace)],
                    database_ports(),
                ),
            ]),
            egress: Some(vec![
                dns_rule(&config.egress),
                egress_rule(
                    Some(vec![pod_peer(cluster_selector(ctx))]),
                    database_ports(),
                ),
                egress_rule(None, tcp_all(API_SERVER_PORTS)),
            ]),
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::children::egress::{Cidr, EgressConfig, parse_selector};
    use crate::fixtures::{CooperativeFixture, test_config, test_cooperative};

    fn egress_rules(
        coop: &mono_crds::Cooperative,
        config: &ChildConfig,
        external: Option<&DatabaseAddress>,
    ) -> Vec<Value> {
        let ctx = Ctx::new(coop).unwrap();
        let policy = egress(&ctx, &config.egress, external);
        policy.object["spec"]["egress"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn staff(chain: &[&str], cluster: &[&str]) -> ChildConfig {
        let cidrs = |texts: &[&str]| {
            texts
                .iter()
                .map(|t| t.parse::<Cidr>().unwrap())
                .collect::<Vec<_>>()
        };
        ChildConfig {
            egress: EgressConfig::new(
                &cidrs(chain),
                &cidrs(cluster),
                None,
                "dns-system",
                parse_selector("app=coredns,tier=dns").unwrap(),
            )
            .unwrap(),
            ..test_config()
        }
    }

    #[test]
    fn chain_egress_only_to_staff_networks() {
        let coop = test_cooperative();
        // Nothing configured: DNS and the database, no way out to the world.
        let closed = egress_rules(&coop, &staff(&[], &[]), None);
        assert_eq!(closed.len(), 2, "{closed:?}");
        assert_eq!(
            closed[0]["to"],
            json!([{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns-system"}},
                "podSelector": {"matchLabels": {"app": "coredns", "tier": "dns"}},
            }])
        );
        // Even the whole Internet, when staff allow it, leaves out link-local and the cluster.
        let open = egress_rules(
            &coop,
            &staff(&["0.0.0.0/0", "::/0"], &["10.244.0.0/16"]),
            None,
        );
        assert_eq!(
            open[2],
            json!({
                "to": [
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16", "10.244.0.0/16"]}},
                    {"ipBlock": {"cidr": "::/0", "except": ["fe80::/10"]}},
                ],
                "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}],
            })
        );
        // No rule anywhere lets a pod out without a destination, but the external database's.
        for rule in closed.iter().chain(&open) {
            assert!(rule.get("to").is_some(), "{rule}");
        }
    }

    #[test]
    fn smtp_goes_out_where_the_chain_does() {
        let config = staff(&["203.0.113.0/24"], &[]);
        let without = egress_rules(&test_cooperative(), &config, None);
        let with = egress_rules(&test_cooperative().with_smtp(), &config, None);
        assert_eq!(with.len(), without.len() + 1);
        assert_eq!(
            with[2],
            json!({
                "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
                "ports": [{"protocol": "TCP", "port": 25}, {"protocol": "TCP", "port": 465},
                          {"protocol": "TCP", "port": 587}],
            })
        );
        // Nowhere to go when staff allow no network.
        let closed = egress_rules(&test_cooperative().with_smtp(), &staff(&[], &[]), None);
        assert_eq!(closed.len(), 2, "{closed:?}");
    }

    #[test]
    fn external_database_port_comes_from_its_url() {
        let coop = test_cooperative().external_db();
        let config = test_config();
        let by_name = DatabaseAddress {
            host: "pg.example.org".to_owned(),
            port: 6432,
        };
        let by_ip = DatabaseAddress {
            host: "2001:db8::7".to_owned(),
            port: 5433,
        };
        let cases = [
            (None, json!({"ports": [{"protocol": "TCP", "port": 5432}]})),
            (
                Some(&by_name),
                json!({"ports": [{"protocol": "TCP", "port": 6432}]}),
            ),
            (
                Some(&by_ip),
                json!({
                    "to": [{"ipBlock": {"cidr": "2001:db8::7/128"}}],
                    "ports": [{"protocol": "TCP", "port": 5433}],
                }),
            ),
        ];
        for (address, expected) in cases {
            assert_eq!(
                egress_rules(&coop, &config, address)[1],
                expected,
                "{address:?}"
            );
        }
    }

    #[test]
    fn acme_solver_is_let_in_only_for_issued_certificates() {
        let config = test_config();
        let names = |coop: &mono_crds::Cooperative| -> Vec<String> {
            let ctx = Ctx::new(coop).unwrap();
            policies(&ctx, &config, None)
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        let mut own_secret = test_cooperative().with_domain_tls();
        if let Some(tls) = own_secret.spec.domain.as_mut().and_then(|d| d.tls.as_mut()) {
            tls.cluster_issuer = None;
        }
        let cases = [
            (test_cooperative(), false),
            (test_cooperative().with_domain(), false),
            (own_secret, false),
            (test_cooperative().with_domain_tls(), true),
        ];
        for (coop, expected) in cases {
            let found = names(&coop).contains(&"voskhod-acme-solver".to_owned());
            assert_eq!(found, expected, "{:?}", coop.spec.domain);
        }
        let ctx_coop = test_cooperative().with_domain_tls();
        let ctx = Ctx::new(&ctx_coop).unwrap();
        let solver = acme_solver(&ctx, &config);
        assert_eq!(
            solver.object["spec"]["ingress"],
            json!([{
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                "ports": [{"protocol": "TCP", "port": 8089}],
            }])
        );
        assert_eq!(
            solver.object["spec"]["podSelector"],
            json!({"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}})
        );
    }

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
