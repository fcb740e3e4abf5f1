//! Versioned personal data on SQLite and PostgreSQL: every change closes a version and opens
//! the next, a deletion only closes one, and the record as of any block is what it was then,
//! whatever happened later.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::ensure;
use mono_instance::store::{BlockBatch, BlockRecord, Error, JsonText, PrivateVersion, Store};
use serde_json::json;

use crate::support::two_database_test;

const KIND: &str = "individual";

fn person(phone: &str) -> JsonText {
    JsonText::from_value(&json!({"first_name": "Анна", "last_name": "Иванова", "phone": phone}))
}

/// The phone of `key` as of `block_num`, if the record existed then.
async fn phone_at(store: &Store, key: &str, block_num: u32) -> anyhow::Result<Option<String>> {
    Ok(store
        .private_at(KIND, key, block_num)
        .await?
        .map(|version| version.data.to_value())
        .transpose()?
        .and_then(|data| data["phone"].as_str().map(str::to_owned)))
}

two_database_test!(
    private_records_answer_as_of_any_block,
    |urls: [String; 2]| async move {
        let store = Store::open(&urls[0]).await?;
        ensure!(
            store
                .put_private(KIND, "ivanova", &person("+79120000001"), 10)
                .await?
                == 1
        );
        ensure!(
            store
                .put_private(KIND, "ivanova", &person("+79120000002"), 20)
                .await?
                == 2
        );
        ensure!(store.delete_private(KIND, "ivanova", 30).await?);
        ensure!(
            !store.delete_private(KIND, "ivanova", 31).await?,
            "nothing left to close"
        );
        let expected = [
            (9, None),
            (10, Some("+79120000001")),
            (19, Some("+79120000001")),
            (20, Some("+79120000002")),
            (29, Some("+79120000002")),
            (30, None),
        ];
        for (block_num, phone) in expected {
            let got = phone_at(&store, "ivanova", block_num).await?;
            ensure!(got.as_deref() == phone, "block {block_num}: {got:?}");
        }

        // Two changes in one block: later readers see the second; both stay in the history.
        store
            .put_private(KIND, "ivanova", &person("+79120000003"), 40)
            .await?;
        store
            .put_private(KIND, "ivanova", &person("+79120000004"), 40)
            .await?;
        ensure!(phone_at(&store, "ivanova", 40).await?.as_deref() == Some("+79120000004"));
        let history: Vec<(u64, u32, Option<u32>)> = store
            .private_history(KIND, "ivanova")
            .await?
            .iter()
            .map(|v: &PrivateVersion| (v.version, v.valid_from_block, v.valid_to_block))
            .collect();
        ensure!(
            history
                == [
                    (1, 10, Some(20)),
                    (2, 20, Some(30)),
                    (3, 40, Some(40)),
                    (4, 40, None)
                ],
            "{history:?}"
        );

        // History only moves forward: a change dated before the version in force is refused
        // and writes nothing.
        let refused = store
            .put_private(KIND, "ivanova", &person("+79120000005"), 35)
            .await;
        ensure!(
            matches!(
                refused,
                Err(Error::PrivateRecordBehind {
                    valid_from_block: 40,
                    ..
                })
            ),
            "{refused:?}"
        );
        ensure!(store.private_history(KIND, "ivanova").await?.len() == 4);
        store.close().await;
        Ok(())
    }
);

two_database_test!(
    private_records_list_by_key_in_pages,
    |urls: [String; 2]| async move {
        let store = Store::open(&urls[0]).await?;
        for (idx, key) in ["petrov", "ivanova", "sidorova", "abramov"]
            .into_iter()
            .enumerate()
        {
            let block_num = 10 + u32::try_from(idx)?;
            store
                .put_private(KIND, key, &person("+79120000001"), block_num)
                .await?;
        }
        store.delete_private(KIND, "petrov", 20).await?;
        store
            .put_private("organization", "voskhod", &person("+79120000009"), 10)
            .await?;
        let keys = |page: Vec<PrivateVersion>| -> Vec<String> {
            page.into_iter().map(|version| version.key).collect()
        };
        ensure!(
            keys(store.private_list_at(KIND, 12, None, 10).await?)
                == ["ivanova", "petrov", "sidorova"]
        );
        let first = keys(store.private_list_at(KIND, 20, None, 2).await?);
        ensure!(first == ["abramov", "ivanova"], "{first:?}");
        let second = keys(store.private_list_at(KIND, 20, Some("ivanova"), 2).await?);
        ensure!(
            second == ["sidorova"],
            "petrov was deleted at 20: {second:?}"
        );
        store.close().await;
        Ok(())
    }
);

/// Block `block_num` of a chain of empty blocks.
fn empty_block(block_num: u32) -> BlockBatch {
    let id = |block_num: u32| {
        let mut id = [0xab; 32];
        id[..4].copy_from_slice(&block_num.to_be_bytes());
        id
    };
    BlockBatch::new(
        BlockRecord {
            block_num,
            block_id: id(block_num),
            previous: id(block_num - 1),
            timestamp_ms: 1_700_000_000_000 + i64::from(block_num) * 500,
        },
        block_num,
    )
}

// Issue #15: a change written as of "the block after the synced one" while blocks are being
// committed must never land on a block already committed, or what that block answers changes
// after readers saw it. Blocks are committed one by one while changes are written as fast as
// the store takes them; what each block answered right after its commit must be what it
// answers at the end.
two_database_test!(
    a_change_after_the_cursor_never_lands_on_a_committed_block,
    |urls: [String; 2]| async move {
        const BLOCKS: u32 = 300;
        let store = Store::open(&urls[0]).await?;
        let done = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn({
            let store = store.clone();
            let done = done.clone();
            async move {
                let mut writes: u32 = 0;
                while !done.load(Ordering::SeqCst) {
                    writes += 1;
                    let phone = format!("+7912{writes:07}");
                    store
                        .put_private_next(KIND, "ivanova", &person(&phone))
                        .await?;
                }
                anyhow::Ok(writes)
            }
        });
        let mut answered = Vec::new();
        for block_num in 1..=BLOCKS {
            store.commit_blocks(&[empty_block(block_num)]).await?;
            answered.push((block_num, phone_at(&store, "ivanova", block_num).await?));
        }
        done.store(true, Ordering::SeqCst);
        let writes = writer.await??;
        ensure!(writes > BLOCKS / 10, "only {writes} changes were written");
        for (block_num, phone) in answered {
            let now = phone_at(&store, "ivanova", block_num).await?;
            ensure!(
                now == phone,
                "block {block_num} answered {phone:?} once committed, now {now:?}"
            );
        }
        store.close().await;
        Ok(())
    }
);
