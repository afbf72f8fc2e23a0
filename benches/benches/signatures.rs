//! Signature checks per second on one core: ed25519-dalek's `verify_strict`, and votegraph's
//! `strict_signature` (the same verdicts) one at a time and 64 at a time, on signatures of
//! ballot size by distinct keys. The key is decoded inside the loop, as for a transaction.
//!
//! Run: `cargo bench -p votegraph-benches --bench signatures`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use votegraph_consensus::strict_signature::{self, SignedMessage};

const SIGNATURES: usize = 1024;
const PER_CHECK: usize = 64;

struct Signed {
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

fn signed() -> Vec<Signed> {
    (0..SIGNATURES)
        .map(|i| {
            let mut secret = [7u8; 32];
            secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = SigningKey::from_bytes(&secret);
            let message = vec![i as u8; 300];
            Signed {
                key: key.verifying_key().to_bytes(),
                signature: key.sign(&message).to_bytes(),
                message,
            }
        })
        .collect()
}

fn decoded_key(s: &Signed) -> VerifyingKey {
    VerifyingKey::from_bytes(&s.key).expect("a valid key")
}

fn bench_signatures(c: &mut Criterion) {
    let all = signed();
    let mut group = c.benchmark_group("signature_check");
    group.throughput(Throughput::Elements(SIGNATURES as u64));
    group.bench_function("verify_strict", |b| {
        b.iter(|| {
            all.iter().all(|s| {
                decoded_key(s)
                    .verify_strict(&s.message, &Signature::from_bytes(&s.signature))
                    .is_ok()
            })
        })
    });
    group.bench_function("strict_signature_one_at_a_time", |b| {
        b.iter(|| {
            all.iter().all(|s| {
                strict_signature::verify(&SignedMessage {
                    key: &decoded_key(s),
                    message: &s.message,
                    signature: &s.signature,
                })
            })
        })
    });
    group.bench_function("strict_signature_64_at_a_time", |b| {
        b.iter(|| {
            all.chunks(PER_CHECK).all(|chunk| {
                let keys: Vec<VerifyingKey> = chunk.iter().map(decoded_key).collect();
                let signed: Vec<SignedMessage> = chunk
                    .iter()
                    .zip(&keys)
                    .map(|(s, key)| SignedMessage {
                        key,
                        message: &s.message,
                        signature: &s.signature,
                    })
                    .collect();
                strict_signature::verify_each(&signed)
                    .into_iter()
                    .all(|v| v)
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench_signatures);
criterion_main!(benches);
