//! Micro-benchmarks of the schema's hot paths: cursor encoding and decoding (every page
//! of every list), and DataLoader batching (every field that loads another domain's row).
//!
//! `cargo bench -p gerak-schema --bench hot_paths`
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failure is the report

use std::{collections::HashMap, hint::black_box, sync::Arc, time::Duration};

use async_graphql::dataloader::{DataLoader, Loader};
use criterion::{Criterion, criterion_group, criterion_main};
use gerak_schema::connection::Cursor;

fn cursors(c: &mut Criterion) {
    let key = "0193c1a2-7b3e-7000-8000-00000000abcd";
    c.bench_function("cursor/encode", |b| {
        b.iter(|| Cursor::new(black_box("campaign"), black_box(key)))
    });
    let encoded = Cursor::new("campaign", key).0;
    c.bench_function("cursor/decode", |b| {
        b.iter(|| Cursor::decode_after(black_box("campaign"), Some(black_box(&encoded))).unwrap())
    });
}

/// A loader shaped like the schema's (one batched look-up answers a map by id), over
/// memory: what is measured is the batching itself, not a domain's database.
struct MemoryLoader(Arc<HashMap<String, String>>);

impl Loader<String> for MemoryLoader {
    type Value = String;
    type Error = std::convert::Infallible;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, String>, Self::Error> {
        Ok(keys
            .iter()
            .filter_map(|k| self.0.get(k).map(|v| (k.clone(), v.clone())))
            .collect())
    }
}

fn dataloader(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows: Arc<HashMap<String, String>> = Arc::new(
        (0..100)
            .map(|i| (format!("user-{i}"), format!("Person {i}")))
            .collect(),
    );
    // 20 look-ups from sibling fields of one request (a campaign page's 20 challenge
    // sponsors): one batch, with a fresh loader per request as the server makes them.
    for (name, delay) in [
        ("1ms (async-graphql's default)", Duration::from_millis(1)),
        ("0", Duration::ZERO),
    ] {
        c.bench_function(
            &format!("dataloader/20 load_one in one batch, delay {name}"),
            |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let loader =
                            DataLoader::new(MemoryLoader(rows.clone()), tokio::spawn).delay(delay);
                        let loads = (0..20).map(|i| loader.load_one(format!("user-{}", i * 3)));
                        let found = futures::future::join_all(loads).await;
                        assert!(found.iter().all(|r| matches!(r, Ok(Some(_)))));
                    })
                })
            },
        );
    }
}

criterion_group!(benches, cursors, dataloader);
criterion_main!(benches);
