//! Peer authentication by signed hellos: each sync opens with a hello signed by the sender's
//! validator key, naming the genesis, sender, receiver, time and what the sender knows. A
//! receiver refuses an unknown sender, a wrong genesis or receiver, a bad signature, a clock
//! too far off, and a hello not newer than the last one it accepted from that sender (so a
//! captured hello cannot be replayed). The signature also covers the ids of events the sender
//! asks for (`Hello.wanted`). The answering hello names the request's signature
//! (`Hello.in_reply_to`): a recorded answer cannot answer another request, and an answer
//! cannot be sent as a request.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use std::collections::HashMap;
use std::sync::Mutex;
use votegraph_consensus::strict_signature::{self, SignedMessage};
use votegraph_consensus::EventId;
use votegraph_proto::gossip::v1::Hello;

const DOMAIN: &[u8] = b"votegraph-sync-hello-v1\0";

/// Most event ids one hello may ask for (`Hello.wanted`).
pub const WANTED_MAX: usize = 64;

/// Marks the request's signature in an answer's signed message.
const IN_REPLY_TO_TAG: &[u8] = b"in-reply-to";

/// What a hello is expected to be.
#[derive(Clone, Copy, Debug)]
pub enum HelloRole<'a> {
    /// Opens a sync: newer than the last request accepted from its sender, answering nothing.
    Request,
    /// Answers the request with this signature.
    AnswerTo(&'a [u8]),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HelloError {
    #[error("hello from member {0}, which is not in the genesis validator set")]
    UnknownMember(u32),
    #[error("hello is for member {got}, this node is member {expected}")]
    WrongReceiver { expected: u32, got: u32 },
    #[error("hello is for another genesis (this node runs a different chain or validator set)")]
    WrongGenesis,
    #[error("hello signature does not verify with member {0}'s key")]
    BadSignature(u32),
    #[error("hello clock is {skew_ms} ms off this node's, more than {max_ms} ms")]
    ClockSkew { skew_ms: u64, max_ms: u64 },
    #[error("hello is not newer than the last accepted from member {0} (replayed?)")]
    Replayed(u32),
    #[error("hello lists {got} creators, the validator set has {expected}")]
    KnownLength { expected: usize, got: usize },
    #[error("hello asks for {got} events, at most {WANTED_MAX} are allowed")]
    TooManyWanted { got: usize },
    #[error("hello asks for an event id of {got} bytes, ids have 32")]
    WantedIdLength { got: usize },
    #[error("a sync request from member {0} is an answer to another request")]
    AnswerAsRequest(u32),
    #[error("answer from member {0} does not answer this node's request (replayed?)")]
    NotAnAnswer(u32),
}

fn signing_message(hello: &Hello) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + 32 + 20 + 8 * hello.known.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(&hello.genesis_hash);
    m.extend_from_slice(&hello.from_member.to_be_bytes());
    m.extend_from_slice(&hello.to_member.to_be_bytes());
    m.extend_from_slice(&hello.timestamp_ms.to_be_bytes());
    m.extend_from_slice(&(hello.known.len() as u32).to_be_bytes());
    for k in &hello.known {
        m.extend_from_slice(&k.to_be_bytes());
    }
    // Without wanted ids the message is the one validators before `wanted` signed, so both
    // still understand each other's hellos.
    if !hello.wanted.is_empty() {
        m.extend_from_slice(&(hello.wanted.len() as u32).to_be_bytes());
        for id in &hello.wanted {
            m.extend_from_slice(&(id.len() as u32).to_be_bytes());
            m.extend_from_slice(id);
        }
    }
    // The tag cannot be read as a count of wanted ids (far above `WANTED_MAX`).
    if !hello.in_reply_to.is_empty() {
        m.extend_from_slice(IN_REPLY_TO_TAG);
        m.extend_from_slice(&(hello.in_reply_to.len() as u32).to_be_bytes());
        m.extend_from_slice(&hello.in_reply_to);
    }
    m
}

/// A signed hello: a request when `in_reply_to` is empty, else the answer to the request
/// whose signature it is.
#[allow(clippy::too_many_arguments)]
pub fn sign_hello(
    key: &SigningKey,
    genesis_hash: [u8; 32],
    from_member: u32,
    to_member: u32,
    timestamp_ms: u64,
    known: Vec<u64>,
    wanted: &[EventId],
    in_reply_to: &[u8],
) -> Hello {
    let mut hello = Hello {
        genesis_hash: genesis_hash.to_vec().into(),
        from_member,
        to_member,
        timestamp_ms,
        known,
        signature: Default::default(),
        wanted: wanted.iter().map(|id| id.0.to_vec().into()).collect(),
        in_reply_to: in_reply_to.to_vec().into(),
    };
    hello.signature = key
        .sign(&signing_message(&hello))
        .to_bytes()
        .to_vec()
        .into();
    hello
}

/// Checks hellos addressed to one validator and remembers the newest accepted per sender.
pub struct HelloChecker {
    pub genesis_hash: [u8; 32],
    pub me: u32,
    pub keys: Vec<VerifyingKey>,
    pub skew_ms_max: u64,
    last_accepted_ms: Mutex<HashMap<u32, u64>>,
}

impl HelloChecker {
    pub fn new(genesis_hash: [u8; 32], me: u32, keys: Vec<VerifyingKey>, skew_ms_max: u64) -> Self {
        HelloChecker {
            genesis_hash,
            me,
            keys,
            skew_ms_max,
            last_accepted_ms: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticates `hello` at local time `now_ms` in its `role`: a request must also be newer
    /// than the last one accepted from its sender; an answer must name the request.
    pub fn check(&self, hello: &Hello, now_ms: u64, role: HelloRole) -> Result<(), HelloError> {
        let key = self
            .keys
            .get(hello.from_member as usize)
            .ok_or(HelloError::UnknownMember(hello.from_member))?;
        if hello.to_member != self.me {
            return Err(HelloError::WrongReceiver {
                expected: self.me,
                got: hello.to_member,
            });
        }
        if hello.genesis_hash.as_ref() != self.genesis_hash {
            return Err(HelloError::WrongGenesis);
        }
        if hello.known.len() != self.keys.len() {
            return Err(HelloError::KnownLength {
                expected: self.keys.len(),
                got: hello.known.len(),
            });
        }
        if hello.wanted.len() > WANTED_MAX {
            return Err(HelloError::TooManyWanted {
                got: hello.wanted.len(),
            });
        }
        if let Some(id) = hello.wanted.iter().find(|id| id.len() != 32) {
            return Err(HelloError::WantedIdLength { got: id.len() });
        }
        let signature: [u8; 64] = hello.signature[..]
            .try_into()
            .map_err(|_| HelloError::BadSignature(hello.from_member))?;
        let signed = SignedMessage {
            key,
            message: &signing_message(hello),
            signature: &signature,
        };
        if !strict_signature::verify(&signed) {
            return Err(HelloError::BadSignature(hello.from_member));
        }
        let skew_ms = now_ms.abs_diff(hello.timestamp_ms);
        if skew_ms > self.skew_ms_max {
            return Err(HelloError::ClockSkew {
                skew_ms,
                max_ms: self.skew_ms_max,
            });
        }
        match role {
            HelloRole::Request if !hello.in_reply_to.is_empty() => {
                Err(HelloError::AnswerAsRequest(hello.from_member))
            }
            HelloRole::Request => {
                let mut last = self.last_accepted_ms.lock().expect("hello lock");
                let previous = last.entry(hello.from_member).or_insert(0);
                if hello.timestamp_ms <= *previous {
                    return Err(HelloError::Replayed(hello.from_member));
                }
                *previous = hello.timestamp_ms;
                Ok(())
            }
            HelloRole::AnswerTo(request) if hello.in_reply_to.as_ref() != request => {
                Err(HelloError::NotAnAnswer(hello.from_member))
            }
            HelloRole::AnswerTo(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<SigningKey> {
        (1..=3u8)
            .map(|s| SigningKey::from_bytes(&[s; 32]))
            .collect()
    }

    fn checker_for(me: u32) -> HelloChecker {
        let public = keys().iter().map(|k| k.verifying_key()).collect();
        HelloChecker::new([9; 32], me, public, 1000)
    }

    #[test]
    fn a_valid_hello_is_accepted_once() {
        let checker = checker_for(1);
        let hello = sign_hello(&keys()[0], [9; 32], 0, 1, 5000, vec![1, 2, 3], &[], &[]);
        checker.check(&hello, 5100, HelloRole::Request).unwrap();
        assert_eq!(
            checker.check(&hello, 5100, HelloRole::Request),
            Err(HelloError::Replayed(0))
        );
        let newer = sign_hello(&keys()[0], [9; 32], 0, 1, 5001, vec![1, 2, 3], &[], &[]);
        checker.check(&newer, 5100, HelloRole::Request).unwrap();
    }

    #[test]
    fn forged_misaddressed_or_foreign_hellos_are_refused() {
        let checker = checker_for(1);
        let stranger = SigningKey::from_bytes(&[77; 32]);
        let forged = sign_hello(&stranger, [9; 32], 0, 1, 5000, vec![0; 3], &[], &[]);
        assert_eq!(
            checker.check(&forged, 5000, HelloRole::Request),
            Err(HelloError::BadSignature(0))
        );
        let unknown = sign_hello(&stranger, [9; 32], 7, 1, 5000, vec![0; 3], &[], &[]);
        assert_eq!(
            checker.check(&unknown, 5000, HelloRole::Request),
            Err(HelloError::UnknownMember(7))
        );
        let elsewhere = sign_hello(&keys()[0], [9; 32], 0, 2, 5000, vec![0; 3], &[], &[]);
        assert!(matches!(
            checker.check(&elsewhere, 5000, HelloRole::Request),
            Err(HelloError::WrongReceiver { .. })
        ));
        let other_chain = sign_hello(&keys()[0], [8; 32], 0, 1, 5000, vec![0; 3], &[], &[]);
        assert_eq!(
            checker.check(&other_chain, 5000, HelloRole::Request),
            Err(HelloError::WrongGenesis)
        );
        let mut tampered = sign_hello(&keys()[0], [9; 32], 0, 1, 5000, vec![0; 3], &[], &[]);
        tampered.known[0] = 5;
        assert_eq!(
            checker.check(&tampered, 5000, HelloRole::Request),
            Err(HelloError::BadSignature(0))
        );
    }

    #[test]
    fn the_wanted_ids_are_signed_and_bounded() {
        let checker = checker_for(1);
        let wanted = [EventId([3; 32])];
        let mut tampered = sign_hello(&keys()[0], [9; 32], 0, 1, 5000, vec![0; 3], &wanted, &[]);
        tampered.wanted[0] = vec![4; 32].into();
        assert_eq!(
            checker.check(&tampered, 5000, HelloRole::Request),
            Err(HelloError::BadSignature(0))
        );
        let too_many = vec![EventId([3; 32]); WANTED_MAX + 1];
        let greedy = sign_hello(&keys()[0], [9; 32], 0, 1, 5001, vec![0; 3], &too_many, &[]);
        assert_eq!(
            checker.check(&greedy, 5001, HelloRole::Request),
            Err(HelloError::TooManyWanted {
                got: WANTED_MAX + 1
            })
        );
        let mut short = sign_hello(&keys()[0], [9; 32], 0, 1, 5002, vec![0; 3], &[], &[]);
        short.wanted.push(vec![1; 31].into());
        assert_eq!(
            checker.check(&short, 5002, HelloRole::Request),
            Err(HelloError::WantedIdLength { got: 31 })
        );
        let fair = sign_hello(&keys()[0], [9; 32], 0, 1, 5003, vec![0; 3], &wanted, &[]);
        checker.check(&fair, 5003, HelloRole::Request).unwrap();
    }

    #[test]
    fn an_answer_is_accepted_only_for_the_request_it_names_and_never_as_a_request() {
        let checker = checker_for(0);
        let request = sign_hello(&keys()[0], [9; 32], 0, 1, 5000, vec![0; 3], &[], &[]);
        let other_request = sign_hello(&keys()[0], [9; 32], 0, 1, 5001, vec![0; 3], &[], &[]);
        let answer = sign_hello(
            &keys()[1],
            [9; 32],
            1,
            0,
            5000,
            vec![0; 3],
            &[],
            &request.signature,
        );
        checker
            .check(&answer, 5000, HelloRole::AnswerTo(&request.signature))
            .unwrap();
        assert_eq!(
            checker.check(&answer, 5000, HelloRole::AnswerTo(&other_request.signature)),
            Err(HelloError::NotAnAnswer(1)),
            "a recorded answer does not answer a later request"
        );
        assert_eq!(
            checker.check(&answer, 5000, HelloRole::Request),
            Err(HelloError::AnswerAsRequest(1))
        );
        let mut retargeted = answer.clone();
        retargeted.in_reply_to = other_request.signature.clone();
        assert_eq!(
            checker.check(
                &retargeted,
                5000,
                HelloRole::AnswerTo(&other_request.signature)
            ),
            Err(HelloError::BadSignature(1)),
            "the request named is signed"
        );
    }

    #[test]
    fn a_hello_from_a_distant_clock_is_refused() {
        let checker = checker_for(1);
        let old = sign_hello(&keys()[0], [9; 32], 0, 1, 1000, vec![0; 3], &[], &[]);
        assert!(matches!(
            checker.check(&old, 5000, HelloRole::Request),
            Err(HelloError::ClockSkew { skew_ms: 4000, .. })
        ));
    }
}
