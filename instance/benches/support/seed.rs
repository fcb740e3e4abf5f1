//! Seeding a store for the benchmarks: a cooperative's members written straight into the
//! store, as the follower and the API would have written them.

use mono_instance::store::{BlockBatch, BlockRecord, DeltaRecord, JsonText, PrivateVersion, Store};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// The cooperative.
pub const COOP: &str = "voskhod";
/// Members written per block.
pub const MEMBERS_PER_BLOCK: u32 = 100;

/// A member's account name: `seq` in 12 letters.
pub fn username(seq: u32) -> String {
    let mut rest = seq;
    let mut letters = [b'a'; 12];
    for letter in letters.iter_mut().rev() {
        *letter = b'a' + u8::try_from(rest % 26).unwrap_or(0);
        rest /= 26;
    }
    String::from_utf8_lossy(&letters).into_owned()
}

/// Block `block_num`'s id, derived from its number.
fn block_id(block_num: u32) -> [u8; 32] {
    Sha256::digest(block_num.to_be_bytes()).into()
}

/// One contract row version as the decoder writes it.
fn delta(
    code: &str,
    scope: &str,
    table: &str,
    username: &str,
    value: serde_json::Value,
) -> DeltaRecord {
    let primary_key = username
        .parse::<mono_instance::antelope::name::Name>()
        .map(|name| name.as_u64())
        .unwrap_or_default();
    DeltaRecord {
        code: code.to_owned(),
        scope: scope.to_owned(),
        table_name: table.to_owned(),
        primary_key,
        present: true,
        payer: COOP.to_owned(),
        value: Some(JsonText::from_value(&value)),
        raw: Vec::new(),
        abi_hash: None,
    }
}

/// Writes the members numbered `seqs` (accounts, shareholder rows, personal data) into
/// `store`, [`MEMBERS_PER_BLOCK`] per block, in the blocks after `after` (a stored block's
/// number and id; `None` on an empty store); a third are entrepreneurs, one in ten is blocked.
/// Returns the last block.
pub async fn members(
    store: &Store,
    seqs: std::ops::Range<u32>,
    after: Option<(u32, [u8; 32])>,
) -> anyhow::Result<u32> {
    let (after, after_id) = after.unwrap_or((0, block_id(0)));
    let blocks = seqs.len().div_ceil(MEMBERS_PER_BLOCK as usize);
    let blocks = u32::try_from(blocks)?;
    let mut batches = Vec::new();
    let mut private = Vec::new();
    for block_num in after + 1..=after + blocks {
        let previous = if block_num == after + 1 {
            after_id
        } else {
            block_id(block_num - 1)
        };
        let mut batch = BlockBatch::new(
            BlockRecord {
                block_num,
                block_id: block_id(block_num),
                previous,
                timestamp_ms: 1_750_000_000_000 + i64::from(block_num) * 500,
            },
            block_num,
        );
        let first = seqs.start + (block_num - after - 1) * MEMBERS_PER_BLOCK;
        for seq in first..(first + MEMBERS_PER_BLOCK).min(seqs.end) {
            let name = username(seq);
            let kind = if seq % 3 == 0 {
                "entrepreneur"
            } else {
                "individual"
            };
            let status = if seq % 10 == 0 { "blocked" } else { "accepted" };
            batch.deltas.push(delta(
                "registrator",
                "registrator",
                "accounts",
                &name,
                json!({"username": name, "referer": "", "registrator": COOP, "type": kind,
                       "status": "active", "meta": "", "storages": [], "verifications": [],
                       "registered_at": "2025-06-15T14:13:20"}),
            ));
            batch.deltas.push(delta(
                "soviet",
                COOP,
                "participants",
                &name,
                json!({"username": name, "created_at": "2025-06-15T14:13:20",
                       "last_update": "2025-06-15T14:13:20", "last_min_pay": "2025-06-15T14:13:20",
                       "status": status, "is_initial": true, "is_minimum": true, "has_vote": true,
                       "type": kind, "braname": "", "initial_amount": "100.0000 RUB",
                       "minimum_amount": "300.0000 RUB"}),
            ));
            private.push((
                kind.to_owned(),
                PrivateVersion {
                    key: name.clone(),
                    version: 1,
                    valid_from_block: block_num,
                    valid_to_block: None,
                    data: JsonText::from_value(&json!({"username": name, "first_name": "Иван",
                        "last_name": "Петров", "phone": "+79001234567"})),
                },
            ));
        }
        batches.push(batch);
    }
    for chunk in batches.chunks(20) {
        store.commit_blocks(chunk).await?;
    }
    let mut import = store.begin_private_import().await?;
    import.private_versions(&private).await?;
    import.commit().await?;
    Ok(after + blocks)
}
