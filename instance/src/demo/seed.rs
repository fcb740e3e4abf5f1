//! Seeds the demo cooperative through its own API, as its members' and council's clients
//! would: one applicant joins and is admitted by the council (documents generated and signed,
//! the registration paid, the council's votes, the chairman's decision authorized and
//! executed), and a second applicant's paid application waits on the council's agenda.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use mono_sdk::Client;
use mono_sdk::operations::{
    AuthorizeDecision, ExecDecision, GenerateAgreements, GenerateParticipantApplication,
    GenerateParticipantApplicationDecision, GetAgenda, GetPayments, GetSystemInfo, RegisterAccount,
    RegisterParticipant, SetPaymentStatus, VoteAgainst, VoteFor, authorize_decision, exec_decision,
    generate_agreements, generate_participant_application,
    generate_participant_application_decision, get_agenda, get_payments, get_system_info,
    register_account, register_participant, set_payment_status, vote_against, vote_for,
};

use super::client::{DocumentSignature, Member};
use super::records::person;
use crate::antelope::name::Name;
use crate::chain::api::ChainApi;

/// Longest the seeding waits for the instance to store a pushed transaction's block.
const SYNC_DEADLINE: Duration = Duration::from_secs(60);
const VOTEFOR: Name = Name::from_str_const("votefor");
const VOTEAGAINST: Name = Name::from_str_const("voteagainst");

/// The cooperative as its clients reach it.
pub struct Cooperative<'a> {
    /// The instance's API.
    pub api: &'a Client,
    /// The chain, for the head time signatures carry.
    pub chain: &'a ChainApi,
    /// The cooperative's account.
    pub coopname: Name,
    /// The chairman.
    pub chairman: &'a Member,
    /// The other council members.
    pub council: &'a [Member],
}

/// Someone who wants to join: the account to create and its owner's name.
pub struct Applicant<'a> {
    /// The client, holding the key the account is registered with.
    pub member: &'a Member,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// The handwritten signature placed on the application (`data:image/png;base64,…`).
    pub signature_image: &'a str,
}

impl Cooperative<'_> {
    /// Waits until the instance has stored `block_num`, so the registries show what it carries.
    async fn synced(&self, block_num: Option<i64>) -> anyhow::Result<()> {
        match block_num {
            Some(block_num) => synced(self.api, block_num).await,
            None => Ok(()),
        }
    }

    /// Registers the applicant's account, has its documents generated, signs them in its client
    /// and files the application; the registration fee is then confirmed, which puts the
    /// application on the council's agenda. Returns the decision's id.
    pub async fn apply(&self, applicant: &Applicant<'_>) -> anyhow::Result<u64> {
        let username = applicant.member.username.to_string();
        let registered = self
            .api
            .run::<RegisterAccount>(register_account::Variables {
                data: register_account::RegisterAccountInput {
                    email: format!("{username}@example.ru"),
                    username: Some(username.clone()),
                    public_key: applicant.member.key.public_key().to_string(),
                    type_: register_account::AccountType::INDIVIDUAL,
                    referer: None,
                    individual_data: Some(person(
                        applicant.first_name,
                        applicant.last_name,
                        &username,
                    )),
                    organization_data: None,
                    entrepreneur_data: None,
                    signature: Some(applicant.signature_image.to_owned()),
                },
            })
            .await
            .with_context(|| format!("registering {username}"))?;
        self.synced(registered.register_account.transaction.block_num)
            .await?;

        let client = applicant.member.login(self.api).await?;
        let sign =
            |hash: String| async move { applicant.member.sign_document(self.chain, &hash).await };
        let agreements = client
            .run::<GenerateAgreements>(generate_agreements::Variables {
                data: generate_agreements::GenerateDocumentInput {
                    username: username.clone(),
                },
            })
            .await
            .with_context(|| format!("generating the agreements of {username}"))?;
        let [wallet, signature, privacy, user] = [
            agreements.wallet.hash,
            agreements.signature.hash,
            agreements.privacy.hash,
            agreements.user.hash,
        ];
        let statement = client
            .run::<GenerateParticipantApplication>(generate_participant_application::Variables {
                data: generate_participant_application::GenerateParticipantApplicationInput {
                    username: username.clone(),
                    braname: None,
                    links: Some(vec![
                        wallet.clone(),
                        signature.clone(),
                        privacy.clone(),
                        user.clone(),
                    ]),
                },
            })
            .await?
            .generate_participant_application
            .hash;
        let signed = |document: DocumentSignature| register_participant::SignedDocumentInput {
            hash: document.hash,
            signature: register_participant::SignatureInput {
                signed_at: document.signed_at,
                signature: document.signature,
                public_key: document.public_key,
            },
        };
        let filed = client
            .run::<RegisterParticipant>(register_participant::Variables {
                data: register_participant::RegisterParticipantInput {
                    username: username.clone(),
                    braname: None,
                    statement: signed(sign(statement.clone()).await?),
                    wallet_agreement: signed(sign(wallet).await?),
                    signature_agreement: signed(sign(signature).await?),
                    privacy_agreement: signed(sign(privacy).await?),
                    user_agreement: signed(sign(user).await?),
                },
            })
            .await
            .with_context(|| format!("filing the application of {username}"))?;
        self.synced(filed.register_participant.block_num).await?;

        // The registration fee is paid under the application's hash; the chairman confirms it.
        let chairman = self.chairman.login(self.api).await?;
        let pending = chairman
            .run::<GetPayments>(get_payments::Variables {
                kind: get_payments::PaymentKind::INCOME,
                filter: Some(get_payments::PaymentsFilter {
                    username: Some(username.clone()),
                    status: Some("pending".to_owned()),
                }),
                page: None,
                block: None,
            })
            .await?;
        if !pending
            .get_payments
            .items
            .iter()
            .any(|payment| payment.hash.as_deref() == Some(statement.as_str()))
        {
            bail!("the registration fee of {username} is not pending");
        }
        let paid = chairman
            .run::<SetPaymentStatus>(set_payment_status::Variables {
                data: set_payment_status::SetPaymentStatusInput {
                    hash: statement,
                    status: set_payment_status::PaymentOutcome::COMPLETED,
                    reason: None,
                },
            })
            .await
            .with_context(|| format!("confirming the registration fee of {username}"))?;
        self.synced(paid.set_payment_status.block_num).await?;

        let agenda = chairman
            .run::<GetAgenda>(get_agenda::Variables {
                filter: Some(get_agenda::AgendaFilter {
                    stage: None,
                    kind: None,
                    username: Some(username.clone()),
                }),
                page: None,
                block: None,
            })
            .await?;
        let decision = agenda
            .get_agenda
            .items
            .first()
            .ok_or_else(|| anyhow!("the application of {username} is not on the agenda"))?;
        u64::try_from(decision.id).context("a decision id")
    }

    /// The council votes on `decision_id` (the chairman and every other member for, except
    /// `against`), the chairman signs the decision document, authorizes and executes it.
    pub async fn admit(
        &self,
        applicant: &Member,
        decision_id: u64,
        against: Option<Name>,
    ) -> anyhow::Result<()> {
        let mut last_block = None;
        for member in std::iter::once(self.chairman).chain(self.council) {
            let client = member.login(self.api).await?;
            let block_num = if against == Some(member.username) {
                let vote = member
                    .vote(self.chain, VOTEAGAINST, self.coopname, decision_id)
                    .await?;
                client
                    .run::<VoteAgainst>(vote_against::Variables {
                        data: vote_against::VoteInput {
                            decision_id: vote.decision_id,
                            signed_at: vote.signed_at,
                            signature: vote.signature,
                        },
                    })
                    .await?
                    .vote_against
                    .block_num
            } else {
                let vote = member
                    .vote(self.chain, VOTEFOR, self.coopname, decision_id)
                    .await?;
                client
                    .run::<VoteFor>(vote_for::Variables {
                        data: vote_for::VoteInput {
                            decision_id: vote.decision_id,
                            signed_at: vote.signed_at,
                            signature: vote.signature,
                        },
                    })
                    .await?
                    .vote_for
                    .block_num
            };
            last_block = last_block.max(block_num);
        }
        self.synced(last_block).await?;

        let chairman = self.chairman.login(self.api).await?;
        let decision_id = i64::try_from(decision_id).context("a decision id")?;
        let username = applicant.username.to_string();
        let document = chairman
            .run::<GenerateParticipantApplicationDecision>(
                generate_participant_application_decision::Variables {
                    data: generate_participant_application_decision::GenerateDecisionInput {
                        username: username.clone(),
                        decision_id,
                    },
                },
            )
            .await
            .with_context(|| format!("generating the decision on {username}"))?
            .generate_participant_application_decision;
        let signed = self
            .chairman
            .sign_document(self.chain, &document.hash)
            .await?;
        let authorized = chairman
            .run::<AuthorizeDecision>(authorize_decision::Variables {
                data: authorize_decision::AuthorizeDecisionInput {
                    decision_id,
                    username: username.clone(),
                    document: authorize_decision::SignedDocumentInput {
                        hash: signed.hash,
                        signature: authorize_decision::SignatureInput {
                            signed_at: signed.signed_at,
                            signature: signed.signature,
                            public_key: signed.public_key,
                        },
                    },
                },
            })
            .await
            .with_context(|| format!("authorizing the decision on {username}"))?;
        self.synced(authorized.authorize_decision.block_num).await?;
        let executed = chairman
            .run::<ExecDecision>(exec_decision::Variables {
                data: exec_decision::ExecDecisionInput { decision_id },
            })
            .await
            .with_context(|| format!("executing the decision on {username}"))?;
        self.synced(executed.exec_decision.block_num).await
    }
}

/// Waits until the instance behind `api` has stored `block_num`, at most [`SYNC_DEADLINE`].
pub async fn synced(api: &Client, block_num: i64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + SYNC_DEADLINE;
    loop {
        let info = api
            .run::<GetSystemInfo>(get_system_info::Variables { block: None })
            .await
            .context("reading the instance's synced block")?;
        if info.get_system_info.synced_block >= block_num {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the instance did not store block {block_num} in {SYNC_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
