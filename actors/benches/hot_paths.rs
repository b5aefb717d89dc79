//! Micro-benchmarks of the actors' hot paths: money parsing and formatting (every money
//! input and output), access token issue and verification (every authenticated request).
//!
//! `cargo bench -p gerak-actors --bench hot_paths`
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failure is the report

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gerak_actors::{
    money::Money,
    users::{Role, tokens::AccessTokens},
};

fn money(c: &mut Criterion) {
    c.bench_function("money/parse 150000.50 IDR", |b| {
        b.iter(|| Money::parse("amount", black_box("150000.50"), black_box("IDR")).unwrap())
    });
    c.bench_function("money/parse 1234567 JPY", |b| {
        b.iter(|| Money::parse("amount", black_box("1234567"), black_box("JPY")).unwrap())
    });
    let money = Money::parse("amount", "98765432.10", "IDR").unwrap();
    c.bench_function("money/format 98765432.10 IDR", |b| {
        b.iter(|| black_box(&money).amount())
    });
}

const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret-01";

fn tokens(c: &mut Criterion) {
    let tokens = AccessTokens::new(SECRET, Duration::from_secs(900));
    let (token, _) = tokens
        .issue("0193c1a2-0000-7000-8000-000000000001", Role::User)
        .unwrap();
    // A token's first request checks its signature; later ones find it remembered.
    c.bench_function("token/verify/first", |b| {
        b.iter_batched_ref(
            || AccessTokens::new(SECRET, Duration::from_secs(900)),
            |fresh| fresh.verify(black_box(&token)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("token/verify/remembered", |b| {
        b.iter(|| tokens.verify(black_box(&token)).unwrap())
    });
    c.bench_function("token/issue", |b| {
        b.iter(|| {
            tokens
                .issue(
                    black_box("0193c1a2-0000-7000-8000-000000000001"),
                    Role::User,
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, money, tokens);
criterion_main!(benches);
