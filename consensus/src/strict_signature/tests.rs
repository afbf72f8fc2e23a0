//! Verdicts compared with ed25519-dalek's `verify_strict` on signatures made to sit on each side
//! of every line it draws: tampered bytes, s at or above the group order, small-order keys and
//! R, keys and R with a torsion component (which `verify_strict` accepts for some hashes and not
//! others), and R bytes that are no point at all.

use super::*;
use crate::sim::SplitMix64;
use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_dalek::{Signature, Signer, SigningKey};

const SEED: u64 = 0x5167_ed25;

/// A signature case: key bytes, message, signature bytes.
struct Case {
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

fn random_bytes<const N: usize>(rng: &mut SplitMix64) -> [u8; N] {
    let mut bytes = [0u8; N];
    for chunk in bytes.chunks_mut(8) {
        let word = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    bytes
}

fn random_scalar(rng: &mut SplitMix64) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&random_bytes(rng))
}

fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(r);
    hash.update(key);
    hash.update(message);
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// Signs with secret scalar `a` for the key point `key` (which may carry torsion), adding
/// `r_torsion` to R: `s = r + k·a` satisfies the equation up to the torsion parts.
fn craft(rng: &mut SplitMix64, a: Scalar, key: EdwardsPoint, r_torsion: EdwardsPoint) -> Case {
    let message: [u8; 24] = random_bytes(rng);
    let r = random_scalar(rng);
    let big_r = (EdwardsPoint::mul_base(&r) + r_torsion)
        .compress()
        .to_bytes();
    let key = key.compress().to_bytes();
    let s = r + challenge(&big_r, &key, &message) * a;
    Case {
        key,
        message: message.to_vec(),
        signature: signature_of(&big_r, &s),
    }
}

fn honest(rng: &mut SplitMix64) -> Case {
    let signing = SigningKey::from_bytes(&random_bytes(rng));
    let message: [u8; 40] = random_bytes(rng);
    Case {
        key: signing.verifying_key().to_bytes(),
        message: message.to_vec(),
        signature: signing.sign(&message).to_bytes(),
    }
}

fn tampered(rng: &mut SplitMix64) -> Case {
    let mut case = honest(rng);
    let bit = rng.below(8) as u8;
    match rng.below(3) {
        0 => case.signature[rng.below(64) as usize] ^= 1 << bit,
        1 => case.message[rng.below(40) as usize] ^= 1 << bit,
        _ => case.key[rng.below(32) as usize] ^= 1 << bit,
    }
    case
}

/// s + l: the same point equation, but s is not below the group order.
fn unreduced_s(rng: &mut SplitMix64) -> Case {
    let mut case = honest(rng);
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in case.signature[32..].iter_mut().zip(L) {
        let sum = *byte as u16 + l as u16 + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    case
}

fn torsion(rng: &mut SplitMix64) -> EdwardsPoint {
    EIGHT_TORSION[rng.below(8) as usize]
}

/// Keys and R with torsion components: `verify_strict` accepts exactly those where the torsion
/// parts cancel under the hash, so both verdicts occur.
fn mixed_order(rng: &mut SplitMix64) -> Case {
    let a = random_scalar(rng);
    let key = EdwardsPoint::mul_base(&a) + torsion(rng);
    let r_torsion = if rng.below(2) == 0 {
        EIGHT_TORSION[0]
    } else {
        torsion(rng)
    };
    craft(rng, a, key, r_torsion)
}

/// A small-order key (secret 0): `verify_strict` refuses whatever the equation says.
fn small_order_key(rng: &mut SplitMix64) -> Case {
    let key = torsion(rng);
    craft(rng, Scalar::ZERO, key, EIGHT_TORSION[0])
}

fn signature_of(r_bytes: &[u8; 32], s: &Scalar) -> [u8; 64] {
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    signature
}

/// R given as bytes, a key aB and s = k·a: `[s]B - [k]A` is the identity.
fn identity_equation(rng: &mut SplitMix64, r_bytes: [u8; 32]) -> Case {
    let a = random_scalar(rng);
    let key = EdwardsPoint::mul_base(&a).compress().to_bytes();
    let message: [u8; 16] = random_bytes(rng);
    let s = challenge(&r_bytes, &key, &message) * a;
    Case {
        key,
        message: message.to_vec(),
        signature: signature_of(&r_bytes, &s),
    }
}

/// R is the identity and s = k·a: the equation holds, so only R's order refuses it.
fn small_order_r(rng: &mut SplitMix64) -> Case {
    identity_equation(rng, EIGHT_TORSION[0].compress().to_bytes())
}

/// A mixed-order key `aB + T` and `s = k·a` give `[s]B - [k]A = -[k]T`, a small-order point
/// other than the identity for most hashes. Messages are tried until R's bytes are exactly that
/// point's encoding, so the equation holds and only R's order refuses the signature.
fn small_order_r_not_identity(rng: &mut SplitMix64) -> Case {
    let a = random_scalar(rng);
    let t = EIGHT_TORSION[1];
    let key = (EdwardsPoint::mul_base(&a) + t).compress().to_bytes();
    loop {
        let message: [u8; 16] = random_bytes(rng);
        let r = torsion(rng);
        if r == EIGHT_TORSION[0] {
            continue;
        }
        let r_bytes = r.compress().to_bytes();
        let k = challenge(&r_bytes, &key, &message);
        if -(k * t) != r {
            continue;
        }
        return Case {
            key,
            message: message.to_vec(),
            signature: signature_of(&r_bytes, &(k * a)),
        };
    }
}

/// Encodings of small-order points that are not canonical: y + p, or x = 0 with the sign bit.
/// With `s = k·a` the recomputed point is the identity; its encoding differs from these bytes
/// even where they decode to it.
fn non_canonical_r(rng: &mut SplitMix64) -> Case {
    let with = |low: u8, fill: u8, high: u8| {
        let mut b = [fill; 32];
        b[0] = low;
        b[31] = high;
        b
    };
    let encodings = [
        with(0xee, 0xff, 0x7f), // y = 1 + p: the identity
        with(0x01, 0x00, 0x80), // y = 1, sign bit set: the identity, "negative zero"
        with(0xed, 0xff, 0x7f), // y = 0 + p: an order-4 point
    ];
    let r_bytes = encodings[rng.below(3) as usize];
    identity_equation(rng, r_bytes)
}

/// s at the edges of its range: l - 1 (canonical, wrong), l, the top three bits set, all ones.
fn edge_s(rng: &mut SplitMix64) -> Case {
    let mut case = honest(rng);
    let l_minus_1: [u8; 32] = (-Scalar::ONE).to_bytes();
    let mut l = l_minus_1;
    l[0] += 1;
    let mut top = *Scalar::ONE.as_bytes();
    top[31] |= 0xe0;
    let s = [l_minus_1, l, top, [0xff; 32]][rng.below(4) as usize];
    case.signature[32..].copy_from_slice(&s);
    case
}

/// R bytes chosen at random: usually no point, or a point other than the recomputed one.
fn random_r(rng: &mut SplitMix64) -> Case {
    let mut case = honest(rng);
    case.signature[..32].copy_from_slice(&random_bytes::<32>(rng));
    case
}

fn reference(case: &Case) -> Option<bool> {
    let key = VerifyingKey::from_bytes(&case.key).ok()?;
    Some(
        key.verify_strict(&case.message, &Signature::from_bytes(&case.signature))
            .is_ok(),
    )
}

/// The rule is checked over every kind of case: each kind with its count of acceptances.
fn cases(rng: &mut SplitMix64) -> Vec<(&'static str, Case)> {
    type Make = fn(&mut SplitMix64) -> Case;
    let kinds: [(&str, Make); 10] = [
        ("honest", honest),
        ("tampered", tampered),
        ("unreduced s", unreduced_s),
        ("edge s", edge_s),
        ("mixed order", mixed_order),
        ("small-order key", small_order_key),
        ("small-order R", small_order_r),
        (
            "small-order R, not the identity",
            small_order_r_not_identity,
        ),
        ("non-canonical R", non_canonical_r),
        ("random R", random_r),
    ];
    (0..2_000)
        .map(|i| {
            let (name, make) = kinds[i % kinds.len()];
            (name, make(rng))
        })
        .collect()
}

fn keyed<'a>(cases: &'a [(&'static str, Case)]) -> Vec<(&'static str, &'a Case, VerifyingKey)> {
    cases
        .iter()
        .filter_map(|(name, case)| {
            VerifyingKey::from_bytes(&case.key)
                .ok()
                .map(|key| (*name, case, key))
        })
        .collect()
}

#[test]
fn verdicts_equal_verify_strict_one_at_a_time_and_in_batches() {
    println!("seed {SEED:#x}");
    let mut rng = SplitMix64::new(SEED);
    let cases = cases(&mut rng);
    let keyed = keyed(&cases);
    let signed: Vec<SignedMessage> = keyed
        .iter()
        .map(|(_, case, key)| SignedMessage {
            key,
            message: &case.message,
            signature: &case.signature,
        })
        .collect();
    let mut in_batches = Vec::new();
    for chunk in signed.chunks(37) {
        in_batches.extend(verify_each(chunk));
    }
    let mut accepted: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (i, ((name, case, _), one)) in keyed.iter().zip(&signed).enumerate() {
        let expected = reference(case).expect("the key decompresses");
        assert_eq!(verify(one), expected, "case {i} ({name}), seed {SEED:#x}");
        assert_eq!(in_batches[i], expected, "case {i} ({name}) in a batch");
        let counts = accepted.entry(name).or_default();
        counts.0 += expected as usize;
        counts.1 += 1;
    }
    println!("accepted of each kind: {accepted:?}");
    assert_eq!(accepted["honest"].0, accepted["honest"].1);
    let (mixed_accepted, mixed) = accepted["mixed order"];
    assert!(
        mixed_accepted > 0 && mixed_accepted < mixed,
        "both verdicts occur"
    );
    for refused in [
        "unreduced s",
        "edge s",
        "small-order key",
        "small-order R",
        "small-order R, not the identity",
        "non-canonical R",
        "random R",
    ] {
        assert_eq!(accepted[refused].0, 0, "{refused}");
    }
}

#[test]
fn the_refused_small_order_cases_pass_the_lax_rule() {
    let mut rng = SplitMix64::new(SEED);
    let identity_key = craft(&mut rng, Scalar::ZERO, EIGHT_TORSION[0], EIGHT_TORSION[0]);
    for case in [identity_key, small_order_r(&mut rng)] {
        let key = VerifyingKey::from_bytes(&case.key).unwrap();
        let signature = Signature::from_bytes(&case.signature);
        use ed25519_dalek::Verifier;
        assert!(key.verify(&case.message, &signature).is_ok());
        assert!(!verify(&SignedMessage {
            key: &key,
            message: &case.message,
            signature: &case.signature,
        }));
    }
}

/// RFC 8032, section 7.1, test 1: verdicts pinned by published bytes, whatever backend
/// curve25519-dalek selects on this CPU (IFMA, AVX2 or portable).
#[test]
fn the_rfc_8032_vector_verifies_and_its_alterations_do_not() {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let key: [u8; 32] = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        .try_into()
        .unwrap();
    let mut signature: [u8; 64] = hex(concat!(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555",
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    ))
    .try_into()
    .unwrap();
    let key = VerifyingKey::from_bytes(&key).unwrap();
    let check = |message: &[u8], signature: &[u8; 64]| {
        verify(&SignedMessage {
            key: &key,
            message,
            signature,
        })
    };
    assert!(check(b"", &signature));
    assert!(!check(b"x", &signature));
    signature[63] ^= 1;
    assert!(!check(b"", &signature));
    signature[63] ^= 1;
    signature[0] ^= 1;
    assert!(!check(b"", &signature));
}

#[test]
fn an_empty_batch_has_no_verdicts() {
    assert!(verify_each(&[]).is_empty());
}
