//! `installSystem`: the cooperative's council put on chain. Each person given becomes a
//! shareholder if the chain has no account of that name (`registrator::adduser`, an account
//! with no key of its own), its personal record is kept, and the council board is created
//! (`soviet::createboard`) or given these members (`soviet::updateboard`), all in one
//! transaction signed by the cooperative. Whoever has no key of its own yet is e-mailed a
//! one-time token with which it sets its key (`resetKey`): the server never chooses a
//! member's key.
//!
//! What is pushed is what the chain's head lacks, so a second call with the same council
//! pushes nothing. Records are written, in one store transaction, only after the chain took
//! the accounts, and invitations go out last; a call that failed part-way is completed by
//! calling again.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ApiState;
use super::accounts::{Prepared, account_names, store_records_together};
use super::chain_state;
use super::error::ApiError;
use super::key_reset::issue_token;
use super::participants::{AccountType, Shareholder, add_user, personal_record};
use super::policy::admit;
use super::transactions::{TransactionResult, push};
use crate::antelope::name::Name;
use crate::antelope::time::TimePointSec;
use crate::chain::api::ChainApi;
use crate::chain::push::JsonAction;
use crate::mail::Mail;
use crate::private_data::{FieldError, Invalid};

const REGISTRATOR: Name = Name::from_str_const("registrator");
const ACCOUNTS: Name = Name::from_str_const("accounts");
const COOPS: Name = Name::from_str_const("coops");
const SOVIET: Name = Name::from_str_const("soviet");
const BOARDS: Name = Name::from_str_const("boards");
const CREATEBOARD: Name = Name::from_str_const("createboard");
const UPDATEBOARD: Name = Name::from_str_const("updateboard");
const ACTIVE: Name = Name::from_str_const("active");

/// The council board's type in `soviet::boards`.
const SOVIET_BOARD: &str = "soviet";

/// A seat on the council.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CouncilRole {
    /// The chairman; a council has exactly one.
    Chairman,
    /// A member of the council.
    Member,
}

/// One person of the council.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CouncilMemberInput {
    /// The person's account; created when the chain has none of this name.
    pub username: String,
    /// The seat.
    pub role: CouncilRole,
    /// The person's e-mail, kept in the personal data; the invitation goes there.
    pub email: String,
    /// The person's data, in the fields of `updateAccount`'s `individual_data`.
    pub individual_data: Json<Value>,
}

/// The council to install.
#[derive(Debug, Clone, InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InstallSystemInput {
    /// The council's members, the chairman among them.
    pub soviet: Vec<CouncilMemberInput>,
}

/// What an installation did.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InstallSystemResult {
    /// The accounts created.
    pub created: Vec<String>,
    /// The accounts e-mailed a token to set their key (those without a key of their own).
    pub invited: Vec<String>,
    /// How many personal records got a new version.
    pub changed: u32,
    /// The transaction that created the accounts and set the board, when the chain lacked
    /// either.
    pub transaction: Option<TransactionResult>,
}

/// A member of a board, as `soviet::boards` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BoardMember {
    username: String,
    is_voting: bool,
    position_title: String,
    position: String,
}

/// The board row fields the installation keeps.
#[derive(Debug, Clone, Deserialize)]
struct Board {
    id: u64,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    description: String,
    members: Vec<BoardMember>,
}

/// One person checked: the account, its seat and its record.
struct Person {
    username: Name,
    email: String,
    seat: BoardMember,
    record: Prepared,
}

#[derive(Default)]
pub struct InstallMutation;

#[Object]
impl InstallMutation {
    /// Installs the council: the service, the chairman. Idempotent: what the chain holds
    /// already is not pushed again, and those who set their key get no token.
    async fn install_system(
        &self,
        ctx: &Context<'_>,
        data: InstallSystemInput,
    ) -> async_graphql::Result<InstallSystemResult> {
        admit(ctx, None)?;
        let state = ctx.data::<ApiState>()?;
        let people = check(&data.soviet)?;
        let api = chain_state::node(state)?;
        let mut created = Vec::new();
        for person in &people {
            let card =
                chain_state::row(api, REGISTRATOR, REGISTRATOR, ACCOUNTS, person.username).await?;
            if card.is_none() {
                created.push(person.username);
            }
        }
        if !created.is_empty() && state.mailer.is_none() {
            return Err(ApiError::Unavailable(
                "this instance sends no e-mail: a new council member could not set its key",
            )
            .into());
        }
        let mut actions = Vec::new();
        if !created.is_empty() {
            let coop = chain_state::row(api, REGISTRATOR, REGISTRATOR, COOPS, state.coopname)
                .await?
                .ok_or(ApiError::NotFound(
                    "the cooperative's registration on chain",
                ))?;
            // The chain's time, which the contract requires not to be in the future.
            let head = api.get_info().await.map_err(ApiError::internal)?;
            let created_at = json!(TimePointSec::from_secs(
                u32::try_from(head.head_block_time.as_micros() / 1_000_000).unwrap_or(u32::MAX)
            ));
            for username in &created {
                actions.push(add_user(
                    state.coopname,
                    &Shareholder {
                        username: *username,
                        referer: "",
                        kind: AccountType::Individual,
                        created_at: created_at.clone(),
                        initial: coop["initial"].clone(),
                        minimum: coop["minimum"].clone(),
                        spread_initial: false,
                    },
                ));
            }
        }
        let boards = chain_state::rows(api, SOVIET, state.coopname, BOARDS).await?;
        let seats: Vec<BoardMember> = people.iter().map(|person| person.seat.clone()).collect();
        if let Some(action) = board_action(state.coopname, &boards, &seats)? {
            actions.push(action);
        }
        let transaction = if actions.is_empty() {
            None
        } else {
            Some(TransactionResult::from(push(state, &actions).await?))
        };
        let records: Vec<Prepared> = people.iter().map(|person| person.record.clone()).collect();
        let (_, changed) = store_records_together(state, &records).await?;
        let invited = invite(state, api, &people).await?;
        Ok(InstallSystemResult {
            created: created.iter().map(Name::to_string).collect(),
            invited,
            changed: u32::try_from(changed).unwrap_or(u32::MAX),
            transaction,
        })
    }
}

/// The council given, every invalid field named (`soviet.1.individual_data.phone`): names
/// unique, exactly one chairman, each person's data valid.
fn check(soviet: &[CouncilMemberInput]) -> Result<Vec<Person>, ApiError> {
    let mut errors = Vec::new();
    let mut people = Vec::new();
    for (idx, given) in soviet.iter().enumerate() {
        let prefixed = |field: &str| format!("soviet.{idx}.{field}");
        let username = match account_names([("username", given.username.as_str())]) {
            Ok([username]) => username,
            Err(err) => {
                errors.extend(fields_of(err, &prefixed)?);
                continue;
            }
        };
        if people
            .iter()
            .any(|person: &Person| person.username == username)
        {
            errors.push(FieldError {
                field: prefixed("username"),
                reason: Invalid::Format {
                    expected: "an account not given twice",
                },
            });
            continue;
        }
        let record = match personal_record(
            &username.to_string(),
            AccountType::Individual,
            &given.individual_data.0,
            &given.email,
        ) {
            Ok(record) => record,
            Err(err) => {
                // The e-mail is given beside the data, and named where it was given.
                errors.extend(fields_of(err, &|field| match field {
                    "email" => prefixed("email"),
                    other => prefixed(&format!("individual_data.{other}")),
                })?);
                continue;
            }
        };
        let email = record.data["email"]
            .as_str()
            .unwrap_or(given.email.as_str())
            .to_owned();
        people.push(Person {
            username,
            email,
            seat: seat(username, given.role),
            record,
        });
    }
    let chairmen = soviet
        .iter()
        .filter(|given| given.role == CouncilRole::Chairman)
        .count();
    if chairmen != 1 {
        errors.push(FieldError {
            field: "soviet".to_owned(),
            reason: Invalid::Format {
                expected: "exactly one chairman",
            },
        });
    }
    if errors.is_empty() {
        Ok(people)
    } else {
        Err(errors.into())
    }
}

/// The fields `err` names, renamed by `rename`; an error naming no field is returned as it is.
fn fields_of(err: ApiError, rename: &dyn Fn(&str) -> String) -> Result<Vec<FieldError>, ApiError> {
    match err {
        ApiError::BadInput { fields, .. } if !fields.is_empty() => Ok(fields
            .into_iter()
            .map(|mut field| {
                field.field = rename(&field.field);
                field
            })
            .collect()),
        other => Err(other),
    }
}

/// The board seat of `username` in `role`.
fn seat(username: Name, role: CouncilRole) -> BoardMember {
    let (position, title) = match role {
        CouncilRole::Chairman => ("chairman", "Председатель совета"),
        CouncilRole::Member => ("member", "Член совета"),
    };
    BoardMember {
        username: username.to_string(),
        is_voting: true,
        position_title: title.to_owned(),
        position: position.to_owned(),
    }
}

/// What makes the cooperative's council board hold `seats`: `createboard` when it has none,
/// `updateboard` (name and description kept) when its members differ, nothing when they are
/// these already.
fn board_action(
    coopname: Name,
    boards: &[Value],
    seats: &[BoardMember],
) -> Result<Option<JsonAction>, ApiError> {
    let mut council = None;
    for row in boards {
        let board: Board = serde_json::from_value(row.clone()).map_err(ApiError::internal)?;
        if board.kind == SOVIET_BOARD {
            council = Some(board);
            break;
        }
    }
    Ok(match council {
        None => Some(JsonAction::new(
            SOVIET,
            CREATEBOARD,
            json!({"coopname": coopname, "username": coopname, "type": SOVIET_BOARD,
                   "members": seats, "name": "Совет", "description": ""}),
        )),
        Some(board) if board.members == seats => None,
        Some(board) => Some(JsonAction::new(
            SOVIET,
            UPDATEBOARD,
            json!({"coopname": coopname, "username": coopname, "board_id": board.id,
                   "members": seats, "name": board.name, "description": board.description}),
        )),
    })
}

/// Mails a fresh token to each person whose account has no key of its own on chain; returns
/// whom. A message that could not be sent fails the call, whose retry sends it again.
async fn invite(
    state: &ApiState,
    api: &ChainApi,
    people: &[Person],
) -> Result<Vec<String>, ApiError> {
    let mut invited = Vec::new();
    for person in people {
        let account = api
            .get_account(person.username)
            .await
            .map_err(ApiError::internal)?;
        let has_key = account
            .permissions
            .iter()
            .any(|perm| perm.perm_name == ACTIVE && !perm.required_auth.keys.is_empty());
        if has_key {
            continue;
        }
        let mailer = state.mailer.as_ref().ok_or(ApiError::Unavailable(
            "this instance sends no e-mail: a new council member could not set its key",
        ))?;
        let username = person.username.to_string();
        let token = issue_token(state, &username).await?;
        mailer
            .send(&invitation(state, &person.email, &username, &token))
            .await
            .map_err(ApiError::internal)?;
        invited.push(username);
    }
    Ok(invited)
}

fn invitation(state: &ApiState, email: &str, username: &str, token: &str) -> Mail {
    let minutes = state.config.key_reset_ttl.as_secs() / 60;
    Mail {
        to: email.to_owned(),
        subject: "Приглашение в совет кооператива".to_owned(),
        body: format!(
            "Здравствуйте!\n\n\
             Вы включены в совет кооператива {coopname}, ваш аккаунт — {username}.\n\
             Создайте ключ доступа в приложении кооператива и задайте его этим кодом \
             (действует {minutes} минут, один раз):\n\n{token}\n\n\
             Если срок истёк, запросите новый код восстановлением доступа по этому адресу.\n",
            coopname = state.coopname,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(id: u64, kind: &str, members: &[BoardMember]) -> Value {
        json!({"id": id, "type": kind, "name": "Совет", "description": "Основной",
               "members": members, "created_at": "2026-01-01T00:00:00",
               "last_update": "2026-01-01T00:00:00"})
    }

    #[test]
    fn the_board_is_created_replaced_or_left() {
        let coop = Name::from_str_const("voskhod");
        let chairman = seat(Name::from_str_const("chairman"), CouncilRole::Chairman);
        let member = seat(Name::from_str_const("member1"), CouncilRole::Member);
        let newcomer = seat(Name::from_str_const("newcomer"), CouncilRole::Member);
        let seats = vec![chairman.clone(), member.clone()];
        let other_board = board(0, "committee", std::slice::from_ref(&newcomer));
        let check = |boards: &[Value], expected: Option<(&str, Value)>| {
            let action = board_action(coop, boards, &seats).expect("rows parse");
            let got = action.map(|action| (action.action.to_string(), action.data));
            let expected = expected.map(|(name, data)| (name.to_owned(), data));
            assert_eq!(got, expected);
        };
        check(
            std::slice::from_ref(&other_board),
            Some((
                "createboard",
                json!({"coopname": "voskhod", "username": "voskhod", "type": "soviet",
                       "members": seats, "name": "Совет", "description": ""}),
            )),
        );
        check(&[other_board.clone(), board(1, "soviet", &seats)], None);
        check(
            &[board(3, "soviet", &[chairman.clone(), newcomer.clone()])],
            Some((
                "updateboard",
                json!({"coopname": "voskhod", "username": "voskhod", "board_id": 3,
                       "members": seats, "name": "Совет", "description": "Основной"}),
            )),
        );
        // A seat whose title or vote differs is set again too.
        let mut silent = member.clone();
        silent.is_voting = false;
        check(
            &[board(3, "soviet", &[chairman.clone(), silent])],
            Some((
                "updateboard",
                json!({"coopname": "voskhod", "username": "voskhod", "board_id": 3,
                       "members": seats, "name": "Совет", "description": "Основной"}),
            )),
        );
    }

    fn person(username: &str, role: CouncilRole) -> CouncilMemberInput {
        CouncilMemberInput {
            username: username.to_owned(),
            role,
            email: format!("{username}@voskhod.coop"),
            individual_data: Json(json!({
                "first_name": "Анна", "last_name": "Иванова", "middle_name": "",
                "birthdate": "1990-01-02", "full_address": "Москва",
                "phone": "+7 900 000-00-00"})),
        }
    }

    #[test]
    fn a_council_is_checked_field_by_field() {
        let fields = |soviet: &[CouncilMemberInput]| match check(soviet) {
            Ok(people) => panic!("accepted {} people", people.len()),
            Err(ApiError::BadInput { fields, .. }) => fields
                .into_iter()
                .map(|field| field.field)
                .collect::<Vec<_>>(),
            Err(other) => panic!("{}", other.message()),
        };
        let chairman = person("chairman", CouncilRole::Chairman);
        let member = person("member1", CouncilRole::Member);
        assert_eq!(
            check(&[chairman.clone(), member.clone()])
                .expect("valid")
                .len(),
            2
        );
        assert_eq!(fields(std::slice::from_ref(&member)), ["soviet"]);
        assert_eq!(
            fields(&[chairman.clone(), person("chairman", CouncilRole::Member)]),
            ["soviet.1.username"]
        );
        let mut bad = member.clone();
        bad.username = "Not A Name".to_owned();
        bad.email = "not an address".to_owned();
        let mut no_phone = person("member2", CouncilRole::Member);
        no_phone.individual_data.0["phone"] = json!("12");
        assert_eq!(
            fields(&[chairman, bad, no_phone]),
            ["soviet.1.username", "soviet.2.individual_data.phone"]
        );
    }
}
