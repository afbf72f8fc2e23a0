//! Administrative actions and their k-of-n approval: each administrator approves an action in
//! a transaction of their own; the approval that reaches the threshold executes it, at that
//! transaction's place in the order.

use crate::governance::action::{AdminAction, Member};
use crate::governance::election;
use crate::governance::overlay::{Overlay, StateError};
use crate::governance::reason::{reject, Reason, Rejection};
use crate::governance::records::{self, Approvals, CommunityRecord, MemberRecord};
use crate::governance::{Applied, Governance, TxContext};

/// Most members added or removed by one action.
pub const MEMBERS_PER_ACTION_MAX: usize = 10_000;

pub type Outcome = Result<Result<Applied, Rejection>, StateError>;

impl Governance {
    pub(crate) fn approve(
        &self,
        state: &mut Overlay,
        tx: &TxContext,
        action: &AdminAction,
    ) -> Outcome {
        if !self.config.admins.contains(&tx.signer) {
            return Ok(reject(
                Reason::NotAdmin,
                "the signer is not one of the genesis administrators",
            ));
        }
        let hash = action.hash();
        let key = records::approvals_key(&hash);
        let mut approvals: Approvals = records::read(state, &key)?.unwrap_or(Approvals {
            kind: action.kind().to_string(),
            approvers: Vec::new(),
            executed_index: None,
        });
        if let Some(index) = approvals.executed_index {
            return Ok(reject(
                Reason::ActionAlreadyExecuted,
                format!("this {} was executed at index {index}", action.kind()),
            ));
        }
        let Err(position) = approvals.approvers.binary_search(&tx.signer) else {
            return Ok(reject(
                Reason::AlreadyApproved,
                format!("this administrator already approved this {}", action.kind()),
            ));
        };
        // Checked at every approval, so that a doomed action fails at its first approval.
        if let Err(rejection) = check(state, tx, action)? {
            return Ok(Err(rejection));
        }
        approvals.approvers.insert(position, tx.signer);
        let count = approvals.approvers.len() as u32;
        let executed = count >= self.config.admin_threshold;
        if executed {
            if let Err(rejection) = execute(state, tx, action)? {
                return Ok(Err(rejection));
            }
            approvals.executed_index = Some(tx.index);
        }
        records::write(state, key, &approvals);
        Ok(Ok(Applied::Approval {
            action_hash: hash,
            approvals: count,
            threshold: self.config.admin_threshold,
            executed,
        }))
    }
}

fn check(
    state: &Overlay,
    tx: &TxContext,
    action: &AdminAction,
) -> Result<Result<(), Rejection>, StateError> {
    match action {
        AdminAction::CreateElection(spec) => election::check_create(state, tx, spec),
        AdminAction::AmendRoll {
            election_id,
            add,
            remove,
        } => election::check_amend_roll(state, tx, election_id, add, remove),
        AdminAction::OpenElection { election_id } => {
            election::check_transition(state, tx, election_id, election::Transition::Open)
        }
        AdminAction::CloseElection { election_id } => {
            election::check_transition(state, tx, election_id, election::Transition::Close)
        }
        AdminAction::PublishTally { election_id } => {
            election::check_transition(state, tx, election_id, election::Transition::Publish)
        }
        AdminAction::AmendCommunity {
            community_id,
            add,
            remove,
        } => Ok(check_amend_community(community_id, add, remove)),
    }
}

fn execute(
    state: &mut Overlay,
    tx: &TxContext,
    action: &AdminAction,
) -> Result<Result<(), Rejection>, StateError> {
    if let Err(rejection) = check(state, tx, action)? {
        return Ok(Err(rejection));
    }
    match action {
        AdminAction::CreateElection(spec) => election::create(state, tx, spec)?,
        AdminAction::AmendRoll {
            election_id,
            add,
            remove,
        } => election::amend_roll(state, election_id, add, remove)?,
        AdminAction::OpenElection { election_id } => {
            election::transition(state, tx, election_id, election::Transition::Open)?
        }
        AdminAction::CloseElection { election_id } => {
            election::transition(state, tx, election_id, election::Transition::Close)?
        }
        AdminAction::PublishTally { election_id } => {
            election::transition(state, tx, election_id, election::Transition::Publish)?
        }
        AdminAction::AmendCommunity {
            community_id,
            add,
            remove,
        } => amend_community(state, tx.index, community_id, add, remove)?,
    }
    Ok(Ok(()))
}

fn check_amend_community(
    community_id: &str,
    add: &[Member],
    remove: &[[u8; 32]],
) -> Result<(), Rejection> {
    records::check_key_id("community", community_id)?;
    if add.len() + remove.len() > MEMBERS_PER_ACTION_MAX {
        return reject(
            Reason::InvalidRoll,
            format!("at most {MEMBERS_PER_ACTION_MAX} members per amendment"),
        );
    }
    if let Some(member) = add
        .iter()
        .find(|m| m.weight == 0 || m.weight > election::WEIGHT_MAX)
    {
        return reject(
            Reason::InvalidRoll,
            format!(
                "member {} has weight {}; it must be 1 to {}",
                crate::hex::encode(&member.key),
                member.weight,
                election::WEIGHT_MAX
            ),
        );
    }
    Ok(())
}

fn amend_community(
    state: &mut Overlay,
    index: u64,
    community_id: &str,
    add: &[Member],
    remove: &[[u8; 32]],
) -> Result<(), StateError> {
    let key = records::community_key(community_id);
    let mut community: CommunityRecord = records::read(state, &key)?.unwrap_or(CommunityRecord {
        members: 0,
        weight: 0,
    });
    for member in remove {
        let member_key = records::member_key(community_id, member);
        if let Some(old) = records::read::<MemberRecord>(state, &member_key)? {
            community.members -= 1;
            community.weight -= old.weight;
            state.delete(member_key);
        }
    }
    for member in add {
        let member_key = records::member_key(community_id, &member.key);
        match records::read::<MemberRecord>(state, &member_key)? {
            Some(old) => community.weight -= old.weight,
            None => community.members += 1,
        }
        community.weight += member.weight;
        let record = MemberRecord {
            weight: member.weight,
            since_index: index,
        };
        records::write(state, member_key, &record);
    }
    records::write(state, key, &community);
    Ok(())
}
