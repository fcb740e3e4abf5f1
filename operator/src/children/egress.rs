//! Where instances may connect to, as staff configure it: the CIDRs the chain endpoints live
//! in, the platform's egress proxy, and the cluster DNS.
//!
//! A tenant chooses its chain URLs, never the networks they lead to. Link-local addresses
//! (the cloud metadata service among them) and the cluster's own pod and service ranges are
//! cut out of every allowed CIDR, so no configuration opens another tenant's pods or the
//! node's credentials; a CIDR lying wholly inside them is refused.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicyPeer};
use thiserror::Error;

/// Link-local ranges: never reachable from an instance, whatever staff allow.
pub const LINK_LOCAL: [&str; 2] = ["169.254.0.0/16", "fe80::/10"];

/// Why an egress setting was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EgressError {
    /// Not `address/prefix` with a prefix the address family allows.
    #[error("{0:?} is not a CIDR (address/prefix)")]
    NotACidr(String),
    /// An allowed CIDR lies wholly inside a range instances must never reach.
    #[error("{allowed} lies inside {forbidden}, which instances must never reach")]
    Forbidden {
        /// The CIDR staff allowed.
        allowed: Cidr,
        /// The link-local or cluster range containing it.
        forbidden: Cidr,
    },
    /// A label selector that is not `key=value[,key=value]`.
    #[error("{0:?} is not a label selector of the form key=value[,key=value]")]
    NotASelector(String),
}

/// An IPv4 or IPv6 network: an address with its host bits cleared and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `other` lies inside this network (the same network included).
    pub fn contains(&self, other: &Cidr) -> bool {
        if other.prefix < self.prefix {
            return false;
        }
        match (self.network, other.network) {
            (IpAddr::V4(a), IpAddr::V4(b)) => mask_v4(u32::from(b), self.prefix) == u32::from(a),
            (IpAddr::V6(a), IpAddr::V6(b)) => mask_v6(u128::from(b), self.prefix) == u128::from(a),
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = EgressError;

    fn from_str(text: &str) -> Result<Cidr, EgressError> {
        let invalid = || EgressError::NotACidr(text.to_owned());
        let (address, prefix) = text.trim().split_once('/').ok_or_else(invalid)?;
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        let network = match address {
            IpAddr::V4(v4) if prefix <= 32 => IpAddr::V4(mask_v4(u32::from(v4), prefix).into()),
            IpAddr::V6(v6) if prefix <= 128 => IpAddr::V6(mask_v6(u128::from(v6), prefix).into()),
            _ => return Err(invalid()),
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => bits & (u32::MAX << (32 - u32::from(p))),
    }
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => bits & (u128::MAX << (128 - u32::from(p))),
    }
}

/// `key=value[,key=value]` as a label map; the empty text is the empty map.
pub fn parse_selector(text: &str) -> Result<BTreeMap<String, String>, EgressError> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(EgressError::NotASelector(text.to_owned())),
        })
        .collect()
}

/// A proxy in the cluster that instances reach their chain through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressProxy {
    /// Namespace of the proxy's pods.
    pub namespace: String,
    /// Labels of the proxy's pods; every pod of the namespace when empty.
    pub selector: BTreeMap<String, String>,
    /// Ports the proxy listens on.
    pub ports: Vec<u16>,
}

/// Where instances may connect to besides their own database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressConfig {
    chain_cidrs: Vec<Cidr>,
    excluded: Vec<Cidr>,
    proxy: Option<EgressProxy>,
    dns_namespace: String,
    dns_selector: BTreeMap<String, String>,
}

impl EgressConfig {
    /// Instances may reach `chain_cidrs` (on their chain URLs' ports) and `proxy`, never
    /// link-local addresses nor `cluster_cidrs` (the cluster's pod and service ranges), and
    /// resolve names through the pods `dns_selector` selects in `dns_namespace`.
    pub fn new(
        chain_cidrs: &[Cidr],
        cluster_cidrs: &[Cidr],
        proxy: Option<EgressProxy>,
        dns_namespace: &str,
        dns_selector: BTreeMap<String, String>,
    ) -> Result<EgressConfig, EgressError> {
        let mut excluded: Vec<Cidr> = LINK_LOCAL
            .iter()
            .map(|cidr| cidr.parse())
            .collect::<Result<_, _>>()?;
        excluded.extend_from_slice(cluster_cidrs);
        for allowed in chain_cidrs {
            if let Some(forbidden) = excluded.iter().find(|range| range.contains(allowed)) {
                return Err(EgressError::Forbidden {
                    allowed: *allowed,
                    forbidden: *forbidden,
                });
            }
        }
        Ok(EgressConfig {
            chain_cidrs: chain_cidrs.to_vec(),
            excluded,
            proxy,
            dns_namespace: dns_namespace.to_owned(),
            dns_selector,
        })
    }

    /// `ipBlock` peers of the chain CIDRs, each with the forbidden ranges inside it cut out.
    pub(crate) fn chain_peers(&self) -> Vec<NetworkPolicyPeer> {
        self.chain_cidrs
            .iter()
            .map(|allowed| {
                let except: Vec<String> = self
                    .excluded
                    .iter()
                    .filter(|range| allowed.contains(range))
                    .map(Cidr::to_string)
                    .collect();
                NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: allowed.to_string(),
                        except: (!except.is_empty()).then_some(except),
                    }),
                    ..NetworkPolicyPeer::default()
                }
            })
            .collect()
    }

    /// The egress proxy, when there is one.
    pub(crate) fn proxy(&self) -> Option<&EgressProxy> {
        self.proxy.as_ref()
    }

    /// Namespace of the cluster DNS.
    pub(crate) fn dns_namespace(&self) -> &str {
        &self.dns_namespace
    }

    /// Labels of the cluster DNS pods.
    pub(crate) fn dns_selector(&self) -> &BTreeMap<String, String> {
        &self.dns_selector
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_to_their_network() {
        let cases = [
            ("10.1.2.3/8", Ok("10.0.0.0/8")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            ("203.0.113.7/32", Ok("203.0.113.7/32")),
            ("2001:db8::1/32", Ok("2001:db8::/32")),
            ("::/0", Ok("::/0")),
            ("10.0.0.0/33", Err(())),
            ("10.0.0.0", Err(())),
            ("10.0.0/8", Err(())),
            ("2001:db8::/129", Err(())),
            ("example.org/24", Err(())),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<Cidr>().map(|c| c.to_string()).map_err(|_| ());
            assert_eq!(parsed, expected.map(str::to_owned), "{text}");
        }
    }

    #[test]
    fn containment() {
        let cases = [
            ("0.0.0.0/0", "169.254.0.0/16", true),
            ("169.254.0.0/16", "169.254.169.254/32", true),
            ("10.0.0.0/8", "10.0.0.0/8", true),
            ("10.0.0.0/8", "11.0.0.0/8", false),
            ("10.0.0.0/16", "10.0.0.0/8", false),
            ("::/0", "fe80::/10", true),
            ("0.0.0.0/0", "fe80::/10", false),
        ];
        for (outer, inner, expected) in cases {
            assert_eq!(
                cidr(outer).contains(&cidr(inner)),
                expected,
                "{outer} ⊇ {inner}"
            );
        }
    }

    fn config(chain: &[&str], cluster: &[&str]) -> Result<EgressConfig, EgressError> {
        let chain: Vec<Cidr> = chain.iter().map(|c| cidr(c)).collect();
        let cluster: Vec<Cidr> = cluster.iter().map(|c| cidr(c)).collect();
        EgressConfig::new(&chain, &cluster, None, "kube-system", BTreeMap::new())
    }

    #[test]
    fn forbidden_ranges_are_cut_out_or_refused() {
        let open = config(&["0.0.0.0/0", "203.0.113.0/24"], &["10.244.0.0/16"]).unwrap();
        assert_eq!(
            serde_json::to_value(open.chain_peers()).unwrap(),
            json!([
                {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16", "10.244.0.0/16"]}},
                {"ipBlock": {"cidr": "203.0.113.0/24"}},
            ])
        );
        let v6 = config(&["::/0"], &[]).unwrap();
        assert_eq!(
            serde_json::to_value(v6.chain_peers()).unwrap(),
            json!([{"ipBlock": {"cidr": "::/0", "except": ["fe80::/10"]}}])
        );
        let cases = [
            (
                &["169.254.169.254/32"][..],
                &[][..],
                "169.254.169.254/32 lies inside 169.254.0.0/16",
            ),
            (
                &["10.244.3.0/24"][..],
                &["10.244.0.0/16"][..],
                "10.244.3.0/24 lies inside 10.244.0.0/16",
            ),
            (
                &["fe80::1/128"][..],
                &[][..],
                "fe80::1/128 lies inside fe80::/10",
            ),
        ];
        for (chain, cluster, message) in cases {
            let err = config(chain, cluster).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
        }
    }

    #[test]
    fn selectors() {
        let cases = [
            ("k8s-app=kube-dns", Ok(vec![("k8s-app", "kube-dns")])),
            (" a=1 , b=2 ", Ok(vec![("a", "1"), ("b", "2")])),
            ("", Ok(vec![])),
            ("k8s-app", Err(())),
            ("=x", Err(())),
        ];
        for (text, expected) in cases {
            let parsed = parse_selector(text).map_err(|_| ());
            let expected = expected.map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect::<BTreeMap<_, _>>()
            });
            assert_eq!(parsed, expected, "{text}");
        }
    }
}
