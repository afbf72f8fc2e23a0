//! The one ed25519 rule of votegraph: a signature is valid exactly when ed25519-dalek's
//! `verify_strict` accepts it. Events, transactions, hellos, checkpoints and an audit all
//! verify through here, so every validator and every auditor draws the line in the same place.
//!
//! Why not call `verify_strict` itself: signature checks are most of the CPU of a validator and
//! of an audit, and `verify_strict` spends two of its three field exponentiations on R. It
//! decompresses R to reject a small-order R, then compresses `[s]B - [k]A` (one inversion) to
//! compare it with R. Here R is never decompressed: the recomputed point is compressed and
//! compared with R's bytes, and since the two are then the same point, R's order is read off the
//! recomputed point. For many signatures the compressions share one inversion (Montgomery's
//! trick, `compress_batch_alloc`).
//!
//! This is not batch verification: every signature gets its own verdict from its own
//! cofactorless equation, so no crafted signature can pass here and fail `verify_strict`, or
//! the reverse. The argument, for a key A that decompresses and a signature (R, s):
//! `verify_strict` accepts iff s < l, R decompresses, neither R nor A has small order, and
//! `compress([s]B - [k]A) == R`. When the encodings match, R decompresses to that very point
//! (a compressed point always decompresses to itself), so R has small order iff it does; when R
//! does not decompress, no compressed point equals it. `tests` compares verdicts with
//! `verify_strict` over valid, tampered, small-order, mixed-order and malformed signatures.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha512};

/// One signature to check: `signature` by `key` over `message`.
#[derive(Clone, Copy, Debug)]
pub struct SignedMessage<'a> {
    pub key: &'a VerifyingKey,
    pub message: &'a [u8],
    pub signature: &'a [u8; 64],
}

/// `verify_strict`'s verdict on one signature.
pub fn verify(signed: &SignedMessage<'_>) -> bool {
    recompute_r(signed).is_some_and(|point| matches_r(signed, &point, &point.compress()))
}

/// `verify_strict`'s verdict on each signature, in input order. One inversion is shared by the
/// whole slice, so callers pass chunks of a few dozen or more.
pub fn verify_each(signed: &[SignedMessage<'_>]) -> Vec<bool> {
    let recomputed: Vec<Option<EdwardsPoint>> = signed.iter().map(recompute_r).collect();
    let points: Vec<EdwardsPoint> = recomputed.iter().flatten().copied().collect();
    let mut compressed = EdwardsPoint::compress_batch_alloc(&points).into_iter();
    signed
        .iter()
        .zip(recomputed)
        .map(|(s, point)| {
            point.is_some_and(|p| {
                let encoding = compressed.next().expect("one encoding per point");
                matches_r(s, &p, &encoding)
            })
        })
        .collect()
}

/// `[s]B - [k]A` with `k = SHA-512(R || A || message)`, or `None` when s is not below the group
/// order or A has small order.
fn recompute_r(signed: &SignedMessage<'_>) -> Option<EdwardsPoint> {
    let (r_bytes, s_bytes) = signed.signature.split_at(32);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        s_bytes.try_into().expect("32 bytes"),
    ))?;
    let a = signed.key.to_edwards();
    if a.is_small_order() {
        return None;
    }
    let mut hash = Sha512::new();
    hash.update(r_bytes);
    hash.update(signed.key.as_bytes());
    hash.update(signed.message);
    let k = Scalar::from_bytes_mod_order_wide(&hash.finalize().into());
    Some(EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &k, &-a, &s,
    ))
}

/// The recomputed point, compressed to `encoding`, is R and R has large order.
fn matches_r(
    signed: &SignedMessage<'_>,
    point: &EdwardsPoint,
    encoding: &CompressedEdwardsY,
) -> bool {
    encoding.as_bytes()[..] == signed.signature[..32] && !point.is_small_order()
}

#[cfg(test)]
mod tests;
