//! Transaction and action traces as a Leap 5 node writes them into SHiP results: every input
//! transaction's trace carries its `partial` (header and signatures), a failed deferred
//! transaction nests its own trace in `failed_dtrx_trace`, and RAM usage changes ride along as
//! `account_delta`s. Each block's traces open with the implicit `eosio::onblock`, whose
//! `partial` carries no signatures.

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::ship::{expect_variant, unknown_variant};
use crate::antelope::signature::Signature;
use crate::antelope::time::TimePointSec;
use crate::antelope::transaction::{Action, TransactionExtension};

/// How deep `failed_dtrx_trace` may nest. nodeos nests one level; the bound keeps hostile
/// input from exhausting the stack.
const MAX_NESTED_TRACES: u32 = 4;

/// `action_receipt_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReceipt {
    /// Account whose code ran.
    pub receiver: Name,
    /// Digest of the action (and its return value).
    pub act_digest: Checksum256,
    /// Chain-wide action counter.
    pub global_sequence: u64,
    /// Per-receiver counter.
    pub recv_sequence: u64,
    /// Per-authorizer counters.
    pub auth_sequence: Vec<(Name, u64)>,
    /// Code version of the action's account.
    pub code_sequence: u32,
    /// ABI version of the action's account.
    pub abi_sequence: u32,
}

/// `account_delta`: RAM bytes an account was billed (positive) or refunded (negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountDelta {
    /// The account.
    pub account: Name,
    /// Bytes.
    pub delta: i64,
}

/// `action_trace_v1` (or `_v0`, read with an empty return value): one execution of an action at
/// one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTrace {
    /// 1-based position in the transaction's trace, in order of scheduling.
    pub action_ordinal: u32,
    /// Ordinal of the action that sent or forwarded this one; 0 for top-level actions.
    pub creator_action_ordinal: u32,
    /// Ordinal of the nearest ancestor that was not a notification; 0 for top-level actions.
    /// Not on the SHiP wire, reported by the Chain API.
    pub closest_unnotified_ancestor_action_ordinal: u32,
    /// Receipt; absent when the action failed.
    pub receipt: Option<ActionReceipt>,
    /// Account whose code ran.
    pub receiver: Name,
    /// The action.
    pub act: Action,
    /// Whether it was context-free.
    pub context_free: bool,
    /// Microseconds spent.
    pub elapsed: i64,
    /// Console output.
    pub console: String,
    /// RAM billed or refunded by this action.
    pub account_ram_deltas: Vec<AccountDelta>,
    /// Error text when it failed.
    pub except: Option<String>,
    /// Error code when it failed.
    pub error_code: Option<u64>,
    /// Action return value.
    pub return_value: Vec<u8>,
}

/// A signature as the wire carries it, of any key type: K1 and R1 are a type byte and 65
/// bytes, WebAuthn adds its authenticator data and client JSON. Traces of other accounts may
/// carry any of them, so none may make a block unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSignature(Vec<u8>);

/// `partial_transaction_v0`: the parts of an input transaction its trace does not repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialTransaction {
    /// Last second the transaction could be included.
    pub expiration: TimePointSec,
    /// TaPoS block number (low 16 bits).
    pub ref_block_num: u16,
    /// TaPoS block prefix.
    pub ref_block_prefix: u32,
    /// Net usage limit in 8-byte words.
    pub max_net_usage_words: u32,
    /// CPU limit in ms.
    pub max_cpu_usage_ms: u8,
    /// Delay in seconds.
    pub delay_sec: u32,
    /// Transaction extensions.
    pub transaction_extensions: Vec<TransactionExtension>,
    /// The transaction's signatures.
    pub signatures: Vec<WireSignature>,
    /// Context-free data.
    pub context_free_data: Vec<Vec<u8>>,
}

/// `transaction_trace_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionTrace {
    /// Transaction id.
    pub id: Checksum256,
    /// Receipt status: 0 executed, 1 soft fail, 2 hard fail, 3 delayed, 4 expired.
    pub status: u8,
    /// Billed CPU.
    pub cpu_usage_us: u32,
    /// Billed NET in 8-byte words.
    pub net_usage_words: u32,
    /// Microseconds spent.
    pub elapsed: i64,
    /// Billed NET in bytes.
    pub net_usage: u64,
    /// Whether it was a deferred transaction.
    pub scheduled: bool,
    /// Action traces in ordinal order.
    pub action_traces: Vec<ActionTrace>,
    /// RAM billed for the transaction itself (a deferred transaction's storage).
    pub account_ram_delta: Option<AccountDelta>,
    /// Error text when it failed.
    pub except: Option<String>,
    /// Error code when it failed.
    pub error_code: Option<u64>,
    /// The trace of the deferred transaction that failed, when this one reports it.
    pub failed_dtrx_trace: Option<Box<TransactionTrace>>,
    /// Header and signatures of the transaction; Leap writes it on every trace whose packed
    /// transaction it holds, the unsigned `onblock` included.
    pub partial: Option<PartialTransaction>,
}

impl WireSignature {
    /// Wraps a K1 signature.
    pub fn from_k1(signature: &Signature) -> Self {
        Self(signature.to_wire().to_vec())
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The K1 signature, when it is one.
    pub fn to_k1(&self) -> Option<Signature> {
        Signature::from_wire(&self.0).ok()
    }
}

impl Encode for ActionReceipt {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.receiver.encode(writer);
        self.act_digest.encode(writer);
        writer.write_u64(self.global_sequence);
        writer.write_u64(self.recv_sequence);
        writer.write_length(self.auth_sequence.len());
        for (account, sequence) in &self.auth_sequence {
            account.encode(writer);
            writer.write_u64(*sequence);
        }
        writer.write_varuint32(self.code_sequence);
        writer.write_varuint32(self.abi_sequence);
    }
}

impl Decode for ActionReceipt {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "action_receipt", 0)?;
        let receiver = Name::decode(reader)?;
        let act_digest = Checksum256::decode(reader)?;
        let global_sequence = reader.read_u64()?;
        let recv_sequence = reader.read_u64()?;
        let count = reader.read_length(16)?;
        let mut auth_sequence = Vec::with_capacity(count);
        for _ in 0..count {
            auth_sequence.push((Name::decode(reader)?, reader.read_u64()?));
        }
        Ok(Self {
            receiver,
            act_digest,
            global_sequence,
            recv_sequence,
            auth_sequence,
            code_sequence: reader.read_varuint32()?,
            abi_sequence: reader.read_varuint32()?,
        })
    }
}

impl Encode for AccountDelta {
    fn encode(&self, writer: &mut Writer) {
        self.account.encode(writer);
        writer.write_i64(self.delta);
    }
}

impl Decode for AccountDelta {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            account: Name::decode(reader)?,
            delta: reader.read_i64()?,
        })
    }
}

impl Encode for ActionTrace {
    /// Written as `action_trace_v1` (variant index 1), as Leap 5 does.
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(1);
        writer.write_varuint32(self.action_ordinal);
        writer.write_varuint32(self.creator_action_ordinal);
        self.receipt.encode(writer);
        self.receiver.encode(writer);
        self.act.encode(writer);
        writer.write_bool(self.context_free);
        writer.write_i64(self.elapsed);
        writer.write_str(&self.console);
        self.account_ram_deltas.encode(writer);
        self.except.encode(writer);
        self.error_code.encode(writer);
        writer.write_bytes(&self.return_value);
    }
}

impl Decode for ActionTrace {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let version = reader.read_varuint32()?;
        if version > 1 {
            return Err(unknown_variant("action_trace", position, version));
        }
        Ok(Self {
            action_ordinal: reader.read_varuint32()?,
            creator_action_ordinal: reader.read_varuint32()?,
            closest_unnotified_ancestor_action_ordinal: 0,
            receipt: Option::decode(reader)?,
            receiver: Name::decode(reader)?,
            act: Action::decode(reader)?,
            context_free: reader.read_bool()?,
            elapsed: reader.read_i64()?,
            console: String::decode(reader)?,
            account_ram_deltas: Vec::decode(reader)?,
            except: Option::decode(reader)?,
            error_code: Option::decode(reader)?,
            return_value: if version == 1 {
                reader.read_bytes()?.to_vec()
            } else {
                Vec::new()
            },
        })
    }
}

/// Key types of a signature's first byte.
const K1: u8 = 0;
const R1: u8 = 1;
const WEBAUTHN: u8 = 2;

impl Encode for WireSignature {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&self.0);
    }
}

impl Decode for WireSignature {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let start = reader.clone();
        let position = reader.position();
        match reader.read_u8()? {
            K1 | R1 => {
                reader.read_slice(65)?;
            }
            WEBAUTHN => {
                reader.read_slice(65)?;
                reader.read_bytes()?;
                reader.read_str()?;
            }
            key_type => {
                return Err(binary::Error::InvalidValue {
                    type_name: "signature",
                    position,
                    source: format!("unknown key type {key_type}").into(),
                });
            }
        }
        let len = reader.position() - position;
        let mut start = start;
        Ok(Self(start.read_slice(len)?.to_vec()))
    }
}

impl Encode for PartialTransaction {
    /// Written as `partial_transaction_v0`.
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.expiration.encode(writer);
        writer.write_u16(self.ref_block_num);
        writer.write_u32(self.ref_block_prefix);
        writer.write_varuint32(self.max_net_usage_words);
        writer.write_u8(self.max_cpu_usage_ms);
        writer.write_varuint32(self.delay_sec);
        self.transaction_extensions.encode(writer);
        self.signatures.encode(writer);
        writer.write_length(self.context_free_data.len());
        for data in &self.context_free_data {
            writer.write_bytes(data);
        }
    }
}

impl Decode for PartialTransaction {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "partial_transaction", 0)?;
        let expiration = TimePointSec::decode(reader)?;
        let ref_block_num = reader.read_u16()?;
        let ref_block_prefix = reader.read_u32()?;
        let max_net_usage_words = reader.read_varuint32()?;
        let max_cpu_usage_ms = reader.read_u8()?;
        let delay_sec = reader.read_varuint32()?;
        let transaction_extensions = Vec::decode(reader)?;
        let signatures = Vec::decode(reader)?;
        let count = reader.read_length(1)?;
        let mut context_free_data = Vec::with_capacity(count);
        for _ in 0..count {
            context_free_data.push(reader.read_bytes()?.to_vec());
        }
        Ok(Self {
            expiration,
            ref_block_num,
            ref_block_prefix,
            max_net_usage_words,
            max_cpu_usage_ms,
            delay_sec,
            transaction_extensions,
            signatures,
            context_free_data,
        })
    }
}

impl Encode for TransactionTrace {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.id.encode(writer);
        writer.write_u8(self.status);
        writer.write_u32(self.cpu_usage_us);
        writer.write_varuint32(self.net_usage_words);
        writer.write_i64(self.elapsed);
        writer.write_u64(self.net_usage);
        writer.write_bool(self.scheduled);
        self.action_traces.encode(writer);
        self.account_ram_delta.encode(writer);
        self.except.encode(writer);
        self.error_code.encode(writer);
        match &self.failed_dtrx_trace {
            Some(trace) => {
                writer.write_u8(1);
                trace.encode(writer);
            }
            None => writer.write_u8(0),
        }
        self.partial.encode(writer);
    }
}

impl Decode for TransactionTrace {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        decode_transaction_trace(reader, 0)
    }
}

fn decode_transaction_trace(
    reader: &mut Reader<'_>,
    depth: u32,
) -> binary::Result<TransactionTrace> {
    expect_variant(reader, "transaction_trace", 0)?;
    let id = Checksum256::decode(reader)?;
    let status = reader.read_u8()?;
    let cpu_usage_us = reader.read_u32()?;
    let net_usage_words = reader.read_varuint32()?;
    let elapsed = reader.read_i64()?;
    let net_usage = reader.read_u64()?;
    let scheduled = reader.read_bool()?;
    let action_traces = Vec::decode(reader)?;
    let account_ram_delta = Option::decode(reader)?;
    let except = Option::decode(reader)?;
    let error_code = Option::decode(reader)?;
    let position = reader.position();
    let failed_dtrx_trace = if reader.read_optional_flag()? {
        if depth >= MAX_NESTED_TRACES {
            return Err(binary::Error::InvalidValue {
                type_name: "transaction_trace",
                position,
                source: format!("failed_dtrx_trace nested deeper than {MAX_NESTED_TRACES}").into(),
            });
        }
        Some(Box::new(decode_transaction_trace(reader, depth + 1)?))
    } else {
        None
    };
    Ok(TransactionTrace {
        id,
        status,
        cpu_usage_us,
        net_usage_words,
        elapsed,
        net_usage,
        scheduled,
        action_traces,
        account_ram_delta,
        except,
        error_code,
        failed_dtrx_trace,
        partial: Option::decode(reader)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::keys::PrivateKey;

    fn action_trace(version_one: bool) -> ActionTrace {
        ActionTrace {
            action_ordinal: 1,
            creator_action_ordinal: 0,
            closest_unnotified_ancestor_action_ordinal: 0,
            receipt: Some(ActionReceipt {
                receiver: Name::from_str_const("soviet"),
                act_digest: Checksum256::new([3; 32]),
                global_sequence: 42,
                recv_sequence: 7,
                auth_sequence: vec![(Name::from_str_const("voskhod"), 9)],
                code_sequence: 1,
                abi_sequence: 2,
            }),
            receiver: Name::from_str_const("soviet"),
            act: Action {
                account: Name::from_str_const("soviet"),
                name: Name::from_str_const("votefor"),
                authorization: Vec::new(),
                data: vec![1, 2, 3],
            },
            context_free: false,
            elapsed: 5,
            console: "ok".to_owned(),
            account_ram_deltas: vec![AccountDelta {
                account: Name::from_str_const("voskhod"),
                delta: -12,
            }],
            except: None,
            error_code: None,
            return_value: if version_one { vec![8] } else { Vec::new() },
        }
    }

    fn partial() -> PartialTransaction {
        let key = PrivateKey::from_bytes(&[7; 32]).expect("a valid scalar");
        let signature = key.sign_digest(&[1; 32]).expect("signs");
        PartialTransaction {
            expiration: TimePointSec::from_secs(1_700_000_000),
            ref_block_num: 12,
            ref_block_prefix: 3_456,
            max_net_usage_words: 0,
            max_cpu_usage_ms: 0,
            delay_sec: 0,
            transaction_extensions: vec![TransactionExtension {
                kind: 1,
                data: vec![5],
            }],
            signatures: vec![WireSignature::from_k1(&signature)],
            context_free_data: vec![vec![9, 9]],
        }
    }

    fn transaction_trace() -> TransactionTrace {
        TransactionTrace {
            id: Checksum256::new([1; 32]),
            status: 0,
            cpu_usage_us: 100,
            net_usage_words: 12,
            elapsed: 100,
            net_usage: 96,
            scheduled: false,
            action_traces: vec![action_trace(true)],
            account_ram_delta: Some(AccountDelta {
                account: Name::from_str_const("voskhod"),
                delta: 412,
            }),
            except: None,
            error_code: None,
            failed_dtrx_trace: None,
            partial: Some(partial()),
        }
    }

    #[test]
    fn traces_with_everything_a_node_sends_round_trip() {
        let mut failed = transaction_trace();
        failed.status = 2;
        failed.scheduled = true;
        failed.partial = None;
        failed.except = Some("assertion failure".to_owned());
        failed.error_code = Some(5_000_000);
        failed.action_traces[0].receipt = None;
        let mut outer = transaction_trace();
        outer.failed_dtrx_trace = Some(Box::new(failed));
        let traces = vec![outer, transaction_trace()];
        let bytes = binary::to_bytes(&traces);
        let decoded: Vec<TransactionTrace> = binary::from_bytes(&bytes).expect("decodes");
        assert_eq!(decoded, traces);
        let signature = decoded[1].partial.as_ref().expect("partial").signatures[0]
            .to_k1()
            .expect("a K1 signature");
        assert_eq!(
            WireSignature::from_k1(&signature),
            traces[1].partial.as_ref().expect("partial").signatures[0]
        );
    }

    #[test]
    fn action_trace_v0_has_no_return_value() {
        let trace = action_trace(false);
        let mut bytes = binary::to_bytes(&trace);
        bytes[0] = 0;
        // v0 ends before return_value's length byte.
        bytes.pop();
        assert_eq!(
            binary::from_bytes::<ActionTrace>(&bytes).expect("v0 decodes"),
            trace
        );
    }

    #[test]
    fn webauthn_and_r1_signatures_are_skipped_whole() {
        let mut writer = Writer::new();
        writer.write_u8(WEBAUTHN);
        writer.write_raw(&[4; 65]);
        writer.write_bytes(&[1, 2, 3]);
        writer.write_str("{}");
        writer.write_u8(R1);
        writer.write_raw(&[5; 65]);
        let bytes = writer.into_bytes();
        let mut reader = Reader::new(&bytes);
        let webauthn = WireSignature::decode(&mut reader).expect("WebAuthn");
        let r1 = WireSignature::decode(&mut reader).expect("R1");
        reader.finish().expect("both read whole");
        assert_eq!(webauthn.as_bytes().len(), 1 + 65 + 4 + 3);
        assert_eq!(r1.to_k1(), None);
        assert!(WireSignature::decode(&mut Reader::new(&[9, 0])).is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let mut trace = transaction_trace();
        for _ in 0..=MAX_NESTED_TRACES {
            let mut outer = transaction_trace();
            outer.failed_dtrx_trace = Some(Box::new(trace));
            trace = outer;
        }
        let bytes = binary::to_bytes(&trace);
        assert!(binary::from_bytes::<TransactionTrace>(&bytes).is_err());
    }
}
