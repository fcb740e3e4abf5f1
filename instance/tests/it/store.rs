//! Event store tests. Each `store_test!` body runs once on SQLite (a fresh file) and once on
//! PostgreSQL (a fresh database, see [`crate::support`]).

use anyhow::{Context as _, ensure};
use mono_instance::store::{
    AbiRecord, ActionRecord, BlockBatch, BlockRecord, Cursor, DeltaRecord, Error, EventCounts,
    JsonText, NewRefreshToken, Rotation, Store, UndecodableKind, UndecodableRecord,
};
use serde_json::json;

use crate::support::{Backend, TestDb, with_database};

/// Generates a `sqlite` and a `postgres` test running `$body` (a closure taking a [`TestDb`]).
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() -> anyhow::Result<()> {
                with_database(Backend::Sqlite, $body).await
            }

            #[tokio::test]
            async fn postgres() -> anyhow::Result<()> {
                with_database(Backend::Postgres, $body).await
            }
        }
    };
}

/// Id of block `block_num` on fork `fork` (0 is the canonical chain).
fn block_id(block_num: u32, fork: u8) -> [u8; 32] {
    let mut id = [0; 32];
    id[..4].copy_from_slice(&block_num.to_be_bytes());
    id[4] = fork;
    id[31] = 0xab;
    id
}

/// A block on `fork` whose parent is on `parent_fork`, without events.
fn empty_block(block_num: u32, fork: u8, parent_fork: u8) -> BlockBatch {
    BlockBatch::new(
        BlockRecord {
            block_num,
            block_id: block_id(block_num, fork),
            previous: block_id(block_num - 1, parent_fork),
            timestamp_ms: 1_700_000_000_000 + i64::from(block_num) * 500,
        },
        block_num.saturating_sub(3),
    )
}

fn action(global_sequence: u64, name: &str, data: Option<serde_json::Value>) -> ActionRecord {
    ActionRecord {
        global_sequence,
        trx_id: [7; 32],
        action_ordinal: 1,
        creator_action_ordinal: 0,
        receiver: "soviet".into(),
        account: "soviet".into(),
        name: name.into(),
        authorization: json!([{"actor": "voskhod", "permission": "active"}]).into(),
        abi_hash: data.as_ref().map(|_| [9; 32]),
        data: data.map(JsonText::from),
        raw: global_sequence.to_le_bytes().to_vec(),
    }
}

fn delta(
    table_name: &str,
    primary_key: u64,
    present: bool,
    value: serde_json::Value,
) -> DeltaRecord {
    DeltaRecord {
        code: "soviet".into(),
        scope: "voskhod".into(),
        table_name: table_name.into(),
        primary_key,
        present,
        payer: "voskhod".into(),
        raw: value.to_string().into_bytes(),
        value: Some(value.into()),
        abi_hash: Some([9; 32]),
    }
}

/// Blocks `from..=to` of fork `fork` (whose block `from - 1` is on `parent_fork`), each with
/// two actions and a delta; global sequences follow the block number.
fn chain(from: u32, to: u32, fork: u8, parent_fork: u8) -> Vec<BlockBatch> {
    (from..=to)
        .map(|block_num| {
            let parent = if block_num == from { parent_fork } else { fork };
            let mut batch = empty_block(block_num, fork, parent);
            let base = u64::from(block_num) * 10;
            batch.actions.push(action(
                base,
                "newdecision",
                Some(json!({"decision_id": block_num, "fork": fork})),
            ));
            batch
                .actions
                .push(action(base + 1, "votefor", Some(json!({"member": "ant"}))));
            batch.deltas.push(delta(
                "decisions",
                u64::from(block_num),
                true,
                json!({"id": block_num, "fork": fork}),
            ));
            batch
        })
        .collect()
}

async fn commit_all(store: &Store, batches: &[BlockBatch]) -> anyhow::Result<()> {
    for batch in batches {
        store
            .commit_block(batch)
            .await
            .with_context(|| format!("committing block {}", batch.block.block_num))?;
    }
    Ok(())
}

store_test!(
    empty_store_has_no_cursor_and_the_empty_digest,
    |db: TestDb| async move {
        let store = db.open().await?;
        assert_eq!(store.cursor().await?, None);
        assert_eq!(store.counts(None).await?, EventCounts::default());
        assert_eq!(
            store.events_digest(None).await?,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        store.close().await;
        Ok(())
    }
);

store_test!(
    a_new_database_opened_twice_at_once_is_migrated_once,
    |db: TestDb| async move {
        let (first, second) = tokio::join!(db.open(), db.open());
        let (first, second) = (first?, second?);
        first.commit_block(&chain(1, 1, 0, 0)[0]).await?;
        assert_eq!(second.counts(None).await?.blocks, 1);
        first.close().await;
        second.close().await;
        Ok(())
    }
);

store_test!(
    migrations_are_idempotent_on_reopen,
    |db: TestDb| async move {
        let store = db.open().await?;
        commit_all(&store, &chain(1, 3, 0, 0)).await?;
        let digest = store.events_digest(None).await?;
        store.close().await;

        let reopened = db.open().await?;
        let cursor = reopened.cursor().await?.context("cursor after reopen")?;
        assert_eq!((cursor.block_num, cursor.block_id), (3, block_id(3, 0)));
        assert_eq!(reopened.events_digest(None).await?, digest);
        reopened.commit_block(&chain(4, 4, 0, 0)[0]).await?;
        assert_eq!(reopened.counts(None).await?.blocks, 4);
        reopened.close().await;
        Ok(())
    }
);

store_test!(commit_writes_events_and_cursor, |db: TestDb| async move {
    let store = db.open().await?;
    let mut blocks = chain(10, 12, 0, 0);
    blocks[1].abis.push(AbiRecord {
        account: "soviet".into(),
        abi: vec![1, 2, 3],
    });
    blocks[2].undecodable.push(UndecodableRecord {
        kind: UndecodableKind::Action,
        locator: "action 121".into(),
        raw: vec![0xde, 0xad],
        reason: "no ABI".into(),
    });
    commit_all(&store, &blocks).await?;
    assert_eq!(
        store.cursor().await?,
        Some(Cursor {
            block_num: 12,
            block_id: block_id(12, 0),
            lib: 9
        })
    );
    assert_eq!(
        store.counts(None).await?,
        EventCounts {
            blocks: 3,
            actions: 6,
            deltas: 3,
            abis: 1,
            undecodable: 1,
        }
    );
    assert_eq!(
        store.counts(Some(11)).await?,
        EventCounts {
            blocks: 2,
            actions: 4,
            deltas: 2,
            abis: 1,
            undecodable: 0,
        }
    );
    assert_eq!(
        store.block(11).await?,
        Some(chain(11, 11, 0, 0)[0].block.clone())
    );
    let stored = store.action(110).await?.context("action 110")?;
    assert_eq!(stored.block_num, 11);
    assert_eq!(stored.record, chain(11, 11, 0, 0)[0].actions[0]);
    store.close().await;
    Ok(())
});

store_test!(recommitting_a_block_is_a_no_op, |db: TestDb| async move {
    let store = db.open().await?;
    let blocks = chain(1, 3, 0, 0);
    commit_all(&store, &blocks).await?;
    let digest = store.events_digest(None).await?;
    let counts = store.counts(None).await?;

    store.commit_block(&blocks[1]).await?;
    store.commit_block(&blocks[2]).await?;
    store.commit_blocks(&blocks).await?;

    assert_eq!(store.events_digest(None).await?, digest);
    assert_eq!(store.counts(None).await?, counts);
    assert_eq!(
        store.cursor().await?.map(|cursor| cursor.block_num),
        Some(3)
    );

    // Stored blocks followed by new ones: the stored ones are skipped, the new ones written.
    store.commit_blocks(&chain(2, 5, 0, 0)).await?;
    assert_eq!(store.counts(None).await?.blocks, 5);
    assert_eq!(
        store.cursor().await?.map(|cursor| cursor.block_num),
        Some(5)
    );
    store.close().await;
    Ok(())
});

store_test!(blocks_out_of_order_are_rejected, |db: TestDb| async move {
    let store = db.open().await?;
    commit_all(&store, &chain(5, 6, 0, 0)).await?;
    let digest = store.events_digest(None).await?;

    let gap = store.commit_block(&chain(8, 8, 0, 0)[0]).await;
    assert!(
        matches!(
            gap,
            Err(Error::OutOfOrder {
                expected: 7,
                got: 8
            })
        ),
        "{gap:?}"
    );
    let before_start = store.commit_block(&chain(3, 3, 0, 0)[0]).await;
    assert!(
        matches!(
            before_start,
            Err(Error::OutOfOrder {
                expected: 7,
                got: 3
            })
        ),
        "{before_start:?}"
    );
    let other_fork = store.commit_block(&chain(6, 6, 1, 0)[0]).await;
    assert!(
        matches!(other_fork, Err(Error::BlockConflict { block_num: 6, .. })),
        "{other_fork:?}"
    );
    let wrong_parent = store.commit_block(&chain(7, 7, 1, 1)[0]).await;
    assert!(
        matches!(wrong_parent, Err(Error::BrokenChain { block_num: 7, .. })),
        "{wrong_parent:?}"
    );
    let mut skipping = chain(7, 7, 0, 0);
    skipping.extend(chain(9, 9, 0, 0));
    let skipped = store.commit_blocks(&skipping).await;
    assert!(
        matches!(
            skipped,
            Err(Error::OutOfOrder {
                expected: 8,
                got: 9
            })
        ),
        "{skipped:?}"
    );

    assert_eq!(store.events_digest(None).await?, digest);
    assert_eq!(
        store.cursor().await?.map(|cursor| cursor.block_num),
        Some(6)
    );
    store.close().await;
    Ok(())
});

store_test!(
    a_failing_batch_writes_neither_events_nor_cursor,
    |db: TestDb| async move {
        let store = db.open().await?;
        commit_all(&store, &chain(1, 1, 0, 0)).await?;
        let digest = store.events_digest(None).await?;

        // Block 3 repeats an action of block 2: the whole two-block batch must be refused.
        let mut batches = chain(2, 3, 0, 0);
        let repeated_action = batches[0].actions[0].clone();
        batches[1].actions.push(repeated_action);
        let repeated = store.commit_blocks(&batches).await;
        assert!(
            matches!(repeated, Err(Error::DuplicateEvent { .. })),
            "{repeated:?}"
        );

        // A delta key repeated inside one block.
        let mut single = chain(2, 2, 0, 0);
        let repeated_delta = single[0].deltas[0].clone();
        single[0].deltas.push(repeated_delta);
        let repeated = store.commit_block(&single[0]).await;
        assert!(
            matches!(repeated, Err(Error::DuplicateEvent { .. })),
            "{repeated:?}"
        );

        // An action already stored by an earlier block.
        let mut stale = chain(2, 2, 0, 0);
        stale[0]
            .actions
            .push(chain(1, 1, 0, 0)[0].actions[0].clone());
        let repeated = store.commit_block(&stale[0]).await;
        assert!(
            matches!(repeated, Err(Error::DuplicateEvent { .. })),
            "{repeated:?}"
        );

        assert_eq!(store.block(2).await?, None);
        assert_eq!(
            store.cursor().await?.map(|cursor| cursor.block_num),
            Some(1)
        );
        assert_eq!(store.events_digest(None).await?, digest);

        // The store is still usable: the corrected batch goes through.
        store.commit_blocks(&chain(2, 3, 0, 0)).await?;
        assert_eq!(
            store.cursor().await?.map(|cursor| cursor.block_num),
            Some(3)
        );
        store.close().await;
        Ok(())
    }
);

store_test!(
    rollback_removes_every_event_above_the_fork_point,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut canonical = chain(1, 5, 0, 0);
        canonical[3].abis.push(AbiRecord {
            account: "soviet".into(),
            abi: vec![1, 2, 3],
        });
        canonical[4].undecodable.push(UndecodableRecord {
            kind: UndecodableKind::Delta,
            locator: "soviet/decisions/5".into(),
            raw: vec![0xff],
            reason: "unexpected end of input".into(),
        });
        commit_all(&store, &canonical).await?;
        let digest_at_3 = store.events_digest(Some(3)).await?;
        let counts_at_3 = store.counts(Some(3)).await?;

        let ahead = store.rollback_to(6, &block_id(6, 0)).await;
        assert!(
            matches!(
                ahead,
                Err(Error::RollbackAhead {
                    block_num: 6,
                    cursor: 5
                })
            ),
            "{ahead:?}"
        );
        let unknown = store.rollback_to(3, &block_id(3, 1)).await;
        assert!(
            matches!(unknown, Err(Error::UnknownForkPoint { block_num: 3, .. })),
            "{unknown:?}"
        );

        store.rollback_to(3, &block_id(3, 0)).await?;
        assert_eq!(
            store.cursor().await?,
            Some(Cursor {
                block_num: 3,
                block_id: block_id(3, 0),
                lib: 2
            })
        );
        assert_eq!(store.counts(None).await?, counts_at_3);
        assert_eq!(store.events_digest(None).await?, digest_at_3);
        assert_eq!(store.abi_at("soviet", 5).await?, None);
        assert_eq!(store.undecodable_in_block(5).await?, Vec::new());

        // The other fork continues from the fork point with the same global sequences.
        commit_all(&store, &chain(4, 5, 1, 0)).await?;
        let rows = store
            .table_rows_at("soviet", "voskhod", "decisions", 5)
            .await?;
        assert_eq!(rows.len(), 5);
        assert_eq!(
            rows[4].record.value,
            Some(json!({"id": 5, "fork": 1}).into())
        );
        store.close().await;
        Ok(())
    }
);

store_test!(rollback_needs_a_committed_block, |db: TestDb| async move {
    let store = db.open().await?;
    let empty = store.rollback_to(1, &block_id(1, 0)).await;
    assert!(
        matches!(empty, Err(Error::NothingCommitted { block_num: 1 })),
        "{empty:?}"
    );
    store.close().await;
    Ok(())
});

store_test!(
    reset_empties_the_store_for_a_sync_from_scratch,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut blocks = chain(5, 8, 0, 0);
        blocks[1].abis.push(AbiRecord {
            account: "soviet".into(),
            abi: vec![1, 2, 3],
        });
        blocks[2].undecodable.push(UndecodableRecord {
            kind: UndecodableKind::Action,
            locator: "action 71".into(),
            raw: vec![0xff],
            reason: "does not decode".into(),
        });
        store.commit_blocks(&blocks).await?;
        assert_eq!(store.first_block_num().await?, Some(5));

        store.reset().await?;
        assert_eq!(store.cursor().await?, None);
        assert_eq!(store.counts(None).await?, EventCounts::default());
        assert_eq!(store.first_block_num().await?, None);
        assert_eq!(store.abi_at("soviet", 8).await?, None);
        assert_eq!(store.undecodable_in_block(7).await?, Vec::new());
        assert_eq!(
            store.events_digest(None).await?,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );

        // The emptied store takes any first block again, and ends as a store that never held
        // the old ones.
        let rebuilt = chain(1, 3, 1, 1);
        store.commit_blocks(&rebuilt).await?;
        let fresh = TestDb::create(db.backend()).await?;
        let clean = fresh.open().await?;
        clean.commit_blocks(&rebuilt).await?;
        let same = store.events_digest(None).await? == clean.events_digest(None).await?;
        clean.close().await;
        fresh.destroy().await?;
        ensure!(same, "a reset store equals a fresh one");
        assert_eq!(store.cursor().await?.map(|c| c.block_num), Some(3));
        store.close().await;
        Ok(())
    }
);

store_test!(
    reset_of_an_empty_store_is_a_no_op,
    |db: TestDb| async move {
        let store = db.open().await?;
        store.reset().await?;
        assert_eq!(store.cursor().await?, None);
        assert_eq!(store.first_block_num().await?, None);
        store.close().await;
        Ok(())
    }
);

store_test!(u64_keys_survive_their_full_range, |db: TestDb| async move {
    let store = db.open().await?;
    let extremes = [0, 1, (1 << 63) - 1, 1 << 63, u64::MAX - 1, u64::MAX];
    let mut batch = empty_block(1, 0, 0);
    for (idx, value) in extremes.iter().rev().enumerate() {
        batch
            .actions
            .push(action(*value, "votefor", Some(json!({"idx": idx}))));
        batch.deltas.push(delta(
            "participants",
            *value,
            true,
            json!({"key": value.to_string()}),
        ));
    }
    store.commit_block(&batch).await?;

    for value in extremes {
        let stored = store.action(value).await?.context("extreme action")?;
        assert_eq!(stored.record.global_sequence, value);
        assert_eq!(stored.record.raw, value.to_le_bytes());
    }
    let keys: Vec<u64> = store
        .table_rows_at("soviet", "voskhod", "participants", 1)
        .await?
        .iter()
        .map(|row| row.record.primary_key)
        .collect();
    assert_eq!(keys, extremes, "rows come back in unsigned key order");
    store.close().await;
    Ok(())
});

store_test!(
    abi_at_returns_the_abi_in_force_at_the_block,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut blocks = chain(1, 6, 0, 0);
        let abi = |bytes: &[u8]| AbiRecord {
            account: "soviet".into(),
            abi: bytes.to_vec(),
        };
        blocks[1].abis.push(abi(b"v2"));
        blocks[4].abis.push(abi(b"v5-first"));
        blocks[4].abis.push(abi(b"v5"));
        blocks[4].abis.push(AbiRecord {
            account: "registrator".into(),
            abi: b"r5".to_vec(),
        });
        store.commit_blocks(&blocks).await?;

        assert_eq!(store.abi_at("soviet", 1).await?, None);
        for (block_num, expected_from, expected) in [
            (2, 2, &b"v2"[..]),
            (4, 2, b"v2"),
            (5, 5, b"v5"),
            (6, 5, b"v5"),
        ] {
            let version = store
                .abi_at("soviet", block_num)
                .await?
                .context("soviet ABI")?;
            assert_eq!(version.block_num, expected_from, "at block {block_num}");
            assert_eq!(version.abi, expected, "at block {block_num}");
            assert_eq!(version.abi_hash, abi(expected).abi_hash());
        }
        let registrator = store
            .abi_at("registrator", 9)
            .await?
            .context("registrator ABI")?;
        assert_eq!(
            (registrator.block_num, registrator.abi),
            (5, b"r5".to_vec())
        );
        store.close().await;
        Ok(())
    }
);

store_test!(
    table_rows_as_of_a_block_follow_the_deltas,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut blocks: Vec<BlockBatch> = (1..=4)
            .map(|block_num| empty_block(block_num, 0, 0))
            .collect();
        blocks[0]
            .deltas
            .push(delta("boards", 1, true, json!({"v": 1})));
        blocks[1]
            .deltas
            .push(delta("boards", 2, true, json!({"v": 2})));
        blocks[2]
            .deltas
            .push(delta("boards", 1, true, json!({"v": 3})));
        blocks[3]
            .deltas
            .push(delta("boards", 1, false, json!({"v": 3})));
        // Another scope and table must not leak into the answer.
        let mut other = delta("boards", 7, true, json!({"v": 7}));
        other.scope = "other".into();
        blocks[3].deltas.push(other);
        blocks[3]
            .deltas
            .push(delta("decisions", 8, true, json!({"v": 8})));
        store.commit_blocks(&blocks).await?;

        let state = |block_num| {
            let store = store.clone();
            async move {
                let rows = store
                    .table_rows_at("soviet", "voskhod", "boards", block_num)
                    .await?;
                anyhow::Ok(
                    rows.into_iter()
                        .map(|row| {
                            let value = row.record.value.map(|text| text.to_value()).transpose();
                            anyhow::Ok((row.record.primary_key, row.block_num, value?))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?,
                )
            }
        };
        assert_eq!(state(1).await?, vec![(1, 1, Some(json!({"v": 1})))]);
        assert_eq!(
            state(2).await?,
            vec![(1, 1, Some(json!({"v": 1}))), (2, 2, Some(json!({"v": 2})))]
        );
        assert_eq!(
            state(3).await?,
            vec![(1, 3, Some(json!({"v": 3}))), (2, 2, Some(json!({"v": 2})))]
        );
        assert_eq!(state(4).await?, vec![(2, 2, Some(json!({"v": 2})))]);
        store.close().await;
        Ok(())
    }
);

store_test!(
    table_rows_as_of_any_block_equal_a_replay_across_commits_and_rollbacks,
    |db: TestDb| async move {
        // A deterministic stream of changes to eight rows over 60 blocks (a small LCG), cut
        // into commits of varying size, with a rollback of the last 10 blocks and a different
        // branch after it: the table as of every block must equal replaying the changes.
        fn next(seed: &mut u64, modulus: u64) -> u64 {
            *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (*seed >> 33) % modulus
        }
        fn branch(
            seed: &mut u64,
            from: u32,
            to: u32,
            fork: u8,
            parent_fork: u8,
        ) -> Vec<BlockBatch> {
            (from..=to)
                .map(|block_num| {
                    let parent = if block_num == from { parent_fork } else { fork };
                    let mut batch = empty_block(block_num, fork, parent);
                    for _ in 0..next(seed, 3) {
                        let key = next(seed, 8);
                        if batch.deltas.iter().any(|d| d.primary_key == key) {
                            continue;
                        }
                        let present = next(seed, 4) != 0;
                        let value = json!({"block": block_num, "fork": fork, "key": key});
                        batch.deltas.push(delta("boards", key, present, value));
                    }
                    batch
                })
                .collect()
        }
        let mut seed: u64 = 0x5eed;
        let store = db.open().await?;
        let canonical = branch(&mut seed, 1, 60, 0, 0);
        let mut start = 0;
        while start < 50 {
            let end = (start + 1 + usize::try_from(next(&mut seed, 9))?).min(50);
            store.commit_blocks(&canonical[start..end]).await?;
            start = end;
        }
        store.rollback_to(40, &block_id(40, 0)).await?;
        let fork = branch(&mut seed, 41, 60, 1, 0);
        store.commit_blocks(&fork[..7]).await?;
        store.commit_blocks(&fork[7..]).await?;
        ensure!(store.wrong_row_versions().await? == 0);

        let history: Vec<&BlockBatch> = canonical[..40].iter().chain(&fork).collect();
        for block_num in 1..=60 {
            let mut replayed = std::collections::BTreeMap::new();
            for batch in history.iter().filter(|b| b.block.block_num <= block_num) {
                for delta in &batch.deltas {
                    if delta.present {
                        replayed.insert(delta.primary_key, batch.block.block_num);
                    } else {
                        replayed.remove(&delta.primary_key);
                    }
                }
            }
            let stored: Vec<(u64, u32)> = store
                .table_rows_at("soviet", "voskhod", "boards", block_num)
                .await?
                .into_iter()
                .map(|row| (row.record.primary_key, row.block_num))
                .collect();
            let replayed: Vec<(u64, u32)> = replayed.into_iter().collect();
            ensure!(
                stored == replayed,
                "block {block_num}: {stored:?} != {replayed:?}"
            );
            for (key, from) in &replayed {
                let row = store
                    .table_row_at("soviet", "voskhod", "boards", *key, block_num)
                    .await?
                    .context("the row is present")?;
                ensure!(row.block_num == *from);
            }
        }
        ensure!(
            store
                .table_row_at("soviet", "voskhod", "boards", 99, 60)
                .await?
                .is_none()
        );
        store.close().await;
        Ok(())
    }
);

store_test!(
    undecodable_input_is_kept_with_its_raw_bytes,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut batch = empty_block(1, 0, 0);
        batch.actions.push(action(42, "newsubmitted", None));
        batch.undecodable.push(UndecodableRecord {
            kind: UndecodableKind::Action,
            locator: "trx 0 action 1".into(),
            raw: vec![0, 159, 146, 150, 0],
            reason: "no ABI for soviet at block 1".into(),
        });
        batch.undecodable.push(UndecodableRecord {
            kind: UndecodableKind::Block,
            locator: "traces".into(),
            raw: vec![1, 2, 3],
            reason: "unknown variant 9".into(),
        });
        store.commit_block(&batch).await?;

        let action = store.action(42).await?.context("undecoded action")?;
        assert_eq!(action.record.data, None);
        assert_eq!(action.record.abi_hash, None);
        assert_eq!(action.record.raw, 42u64.to_le_bytes());
        let mut expected = batch.undecodable.clone();
        expected.sort_by(|a, b| a.kind.as_str().cmp(b.kind.as_str()));
        assert_eq!(store.undecodable_in_block(1).await?, expected);
        assert_eq!(store.undecodable_in_block(2).await?, Vec::new());
        store.close().await;
        Ok(())
    }
);

store_test!(
    large_batches_are_split_and_digested_in_pages,
    |db: TestDb| async move {
        let store = db.open().await?;
        let mut blocks: Vec<BlockBatch> = (1..=60)
            .map(|block_num| empty_block(block_num, 0, 0))
            .collect();
        for batch in &mut blocks {
            let block_num = u64::from(batch.block.block_num);
            for idx in 0..90 {
                // Keys on both sides of 2^63 so the unsigned order is exercised across pages.
                let key = (block_num * 1_000 + idx).rotate_right(1);
                batch
                    .actions
                    .push(action(key, "votefor", Some(json!({"idx": idx}))));
                batch
                    .deltas
                    .push(delta("votes", key, true, json!({"idx": idx})));
            }
        }
        store.commit_blocks(&blocks).await?;
        assert_eq!(
            store.counts(None).await?,
            EventCounts {
                blocks: 60,
                actions: 5_400,
                deltas: 5_400,
                abis: 0,
                undecodable: 0,
            }
        );
        // More rows than one digest page: the paged walk must still see every row once, in order.
        assert_eq!(
            store.events_digest(None).await?,
            sha256_hex(&canonical_dump(&blocks))
        );
        assert_eq!(
            store.events_digest(Some(30)).await?,
            sha256_hex(&canonical_dump(&blocks[..30]))
        );
        store.close().await;
        Ok(())
    }
);

store_test!(json_text_is_kept_exactly, |db: TestDb| async move {
    let store = db.open().await?;
    let mut batch = empty_block(1, 0, 0);
    // Field order, a NUL character and a u64 beyond 2^53 must all come back unchanged.
    let data = json!({"zeta": 1, "alpha": "a\u{0}b", "amount": u64::MAX, "ratio": 0.1});
    batch.actions.push(action(1, "votefor", Some(data.clone())));
    store.commit_block(&batch).await?;
    let stored = store.action(1).await?.context("action 1")?;
    assert_eq!(
        stored.record.data.map(|value| value.to_string()),
        Some(data.to_string())
    );
    store.close().await;
    Ok(())
});

#[tokio::test]
async fn digest_is_equal_on_both_backends_and_covers_every_field() -> anyhow::Result<()> {
    let mut blocks = chain(1, 4, 0, 0);
    blocks[2].actions.push(action(u64::MAX, "votefor", None));
    blocks[2]
        .deltas
        .push(delta("boards", u64::MAX, false, json!({"a": [1, 2]})));
    blocks[2]
        .deltas
        .push(delta("agenda", 0, true, json!({"b": "x"})));

    let mut digests = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::create(backend).await?;
        let store = db.open().await?;
        let result = async {
            store.commit_blocks(&blocks).await?;
            anyhow::Ok((
                store.events_digest(None).await?,
                store.events_digest(Some(2)).await?,
            ))
        }
        .await;
        store.close().await;
        db.destroy().await?;
        digests.push(result?);
    }
    ensure!(digests[0] == digests[1], "backends disagree: {digests:?}");
    assert_ne!(
        digests[0].0, digests[0].1,
        "the block limit must change the digest"
    );

    // Changing any one stored field changes the digest.
    let db = TestDb::create(Backend::Sqlite).await?;
    let store = db.open().await?;
    let mut changed = blocks.clone();
    changed[3].deltas[0].payer = "someone".into();
    store.commit_blocks(&changed).await?;
    let changed_digest = store.events_digest(None).await?;
    let changed_at_2 = store.events_digest(Some(2)).await?;
    store.close().await;
    db.destroy().await?;
    assert_ne!(changed_digest, digests[0].0);
    assert_eq!(changed_at_2, digests[0].1, "the change is above block 2");
    Ok(())
}

/// The canonical dump of `batches` as the store documentation defines it, written
/// independently of the store.
fn canonical_dump(batches: &[BlockBatch]) -> String {
    let hash = |hash: Option<[u8; 32]>| hash.map_or_else(|| "-".to_owned(), hex::encode);
    let json = |value: Option<&JsonText>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let mut blocks = Vec::new();
    let mut actions = Vec::new();
    let mut deltas = Vec::new();
    for batch in batches {
        let b = &batch.block;
        blocks.push(format!(
            "B\t{}\t{}\t{}\t{}\n",
            b.block_num,
            hex::encode(b.block_id),
            hex::encode(b.previous),
            b.timestamp_ms
        ));
        for a in &batch.actions {
            let line = format!(
                "A\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                a.global_sequence,
                b.block_num,
                hex::encode(a.trx_id),
                a.action_ordinal,
                a.creator_action_ordinal,
                a.receiver,
                a.account,
                a.name,
                a.authorization,
                json(a.data.as_ref()),
                hex::encode(&a.raw),
                hash(a.abi_hash)
            );
            actions.push((a.global_sequence, line));
        }
        for d in &batch.deltas {
            let key = (
                d.code.clone(),
                d.scope.clone(),
                d.table_name.clone(),
                d.primary_key,
                b.block_num,
            );
            let line = format!(
                "D\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                d.code,
                d.scope,
                d.table_name,
                d.primary_key,
                b.block_num,
                u8::from(d.present),
                d.payer,
                json(d.value.as_ref()),
                hex::encode(&d.raw),
                hash(d.abi_hash)
            );
            deltas.push((key, line));
        }
    }
    actions.sort();
    deltas.sort();
    let mut dump = blocks.concat();
    dump.extend(actions.into_iter().map(|(_, line)| line));
    dump.extend(deltas.into_iter().map(|(_, line)| line));
    dump
}

fn sha256_hex(text: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
}

#[tokio::test]
async fn digest_follows_the_documented_line_format() -> anyhow::Result<()> {
    let store = Store::open("sqlite::memory:").await?;
    let mut batch = empty_block(1, 0, 0);
    batch.actions.push(action(5, "votefor", None));
    batch.deltas.push(delta("boards", 3, true, json!({"v": 1})));
    store.commit_block(&batch).await?;

    let block = &batch.block;
    let dump = format!(
        "B\t1\t{}\t{}\t1700000000500\n\
         A\t5\t1\t{}\t1\t0\tsoviet\tsoviet\tvotefor\t[{{\"actor\":\"voskhod\",\"permission\":\"active\"}}]\t-\t0500000000000000\t-\n\
         D\tsoviet\tvoskhod\tboards\t3\t1\t1\tvoskhod\t{{\"v\":1}}\t{}\t{}\n",
        hex::encode(block.block_id),
        hex::encode(block.previous),
        hex::encode([7; 32]),
        hex::encode(b"{\"v\":1}"),
        hex::encode([9; 32]),
    );
    assert_eq!(dump, canonical_dump(std::slice::from_ref(&batch)));
    assert_eq!(store.events_digest(None).await?, sha256_hex(&dump));
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn unsupported_urls_are_rejected_without_echoing_them() {
    let result = Store::open("mysql://root:secret@localhost/db").await;
    match result {
        Err(error @ Error::UnsupportedUrl { .. }) => {
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

/// A refresh token of `username` whose hash and family start with `seed`.
fn refresh_token(seed: u8, username: &str) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: [seed; 32],
        family: [seed; 32],
        username: username.to_owned(),
        issued_at: 1_700_000_000,
        expires_at: 1_800_000_000,
    }
}

store_test!(
    a_snapshot_keeps_seeing_the_state_it_was_taken_at,
    |db: TestDb| async move {
        let store = db.open().await?;
        commit_all(&store, &chain(1, 3, 0, 0)).await?;
        let person = JsonText::from(json!({"name": "Анна"}));
        store.put_private("individual", "anna", &person, 2).await?;
        store.put_refresh_token(&refresh_token(1, "anna")).await?;
        let snapshot = store.snapshot().await?;
        let before = (
            snapshot.cursor().await?,
            snapshot.counts(None).await?,
            snapshot.events_digest(None).await?,
            snapshot.private_versions().await?,
            snapshot.refresh_tokens().await?,
        );

        // The instance keeps writing: blocks, personal data, a login's rotation.
        commit_all(&store, &chain(4, 5, 0, 0)).await?;
        store.put_private("individual", "anna", &person, 5).await?;
        store.put_private("individual", "boris", &person, 5).await?;
        let rotated = store
            .rotate_refresh_token(&[1; 32], &refresh_token(2, "anna"), 1_700_000_100)
            .await?;
        ensure!(matches!(rotated, Rotation::Rotated { .. }), "{rotated:?}");

        let after = (
            snapshot.cursor().await?,
            snapshot.counts(None).await?,
            snapshot.events_digest(None).await?,
            snapshot.private_versions().await?,
            snapshot.refresh_tokens().await?,
        );
        ensure!(
            after == before,
            "the snapshot moved: {before:?} -> {after:?}"
        );
        ensure!(before.0.map(|cursor| cursor.block_num) == Some(3));
        ensure!(before.3.len() == 1 && before.4.len() == 1 && !before.4[0].spent);
        ensure!(store.cursor().await?.map(|cursor| cursor.block_num) == Some(5));
        ensure!(store.private_versions().await?.len() == 3);
        ensure!(store.refresh_tokens().await?.len() == 2);
        // A snapshot only reads.
        ensure!(
            snapshot
                .put_private("individual", "clara", &person, 6)
                .await
                .is_err()
        );
        snapshot.close().await;
        store.close().await;
        Ok(())
    }
);

#[tokio::test]
async fn an_in_memory_store_has_no_snapshot() -> anyhow::Result<()> {
    let store = Store::open("sqlite::memory:").await?;
    let snapshot = store.snapshot().await;
    ensure!(
        matches!(snapshot, Err(Error::SnapshotInMemory)),
        "{snapshot:?}"
    );
    store.close().await;
    Ok(())
}
