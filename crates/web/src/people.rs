//! People and credentials on `/staff` (issue 18 item 9, admins): besides the invitations of
//! [`crate::identity`], each account's role change, disabling (after a confirmation) and second
//! factor reset, decided by the domain's staff rules (the last admin stays, an admin never makes
//! itself DPO, sessions end); and the tenant's API tokens with expiry and last use, revocable.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hoheit_domain::access::Action;
use hoheit_domain::actor::Role;
use hoheit_domain::credential::TokenState;
use hoheit_domain::ids::StaffId;
use serde::Deserialize;

use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, Signed, error_text, forbidden, see_other, signed_post, staff_page, status_of};

/// The texts of the account actions and the token list.
#[derive(Debug)]
pub(crate) struct PeopleTexts {
    pub actions: &'static str,
    pub change_role: &'static str,
    pub disable: &'static str,
    pub disable_confirm: &'static str,
    pub reset_totp: &'static str,
    pub tokens_title: &'static str,
    pub tokens_intro: &'static str,
    pub tokens_none: &'static str,
    pub col_label: &'static str,
    pub col_role: &'static str,
    pub col_created: &'static str,
    pub col_expires: &'static str,
    pub col_used: &'static str,
    pub col_state: &'static str,
    pub never: &'static str,
    pub revoke: &'static str,
    pub state_active: &'static str,
    pub state_revoked: &'static str,
    pub state_expired: &'static str,
    pub done_role: &'static str,
    pub done_disabled: &'static str,
    pub done_reset: &'static str,
    pub done_revoked: &'static str,
}

const DE: PeopleTexts = PeopleTexts {
    actions: "Aktionen",
    change_role: "Rolle ändern",
    disable: "Deaktivieren",
    disable_confirm: "Ja, deaktivieren: Sitzungen und Tokens enden sofort",
    reset_totp: "Zweiten Faktor zurücksetzen",
    tokens_title: "API-Tokens",
    tokens_intro: "Tokens für Integrationen. Das Geheimnis wird nur beim Ausstellen gezeigt; ein widerrufener Token wird auf jedem Server binnen Sekunden abgewiesen.",
    tokens_none: "Keine API-Tokens.",
    col_label: "Bezeichnung",
    col_role: "Rolle",
    col_created: "Ausgestellt",
    col_expires: "Läuft ab",
    col_used: "Zuletzt benutzt",
    col_state: "Stand",
    never: "nie",
    revoke: "Widerrufen",
    state_active: "gültig",
    state_revoked: "widerrufen",
    state_expired: "abgelaufen",
    done_role: "Die Rolle ist geändert; die Person meldet sich neu an.",
    done_disabled: "Das Konto ist deaktiviert; seine Sitzungen und Tokens enden.",
    done_reset: "Der zweite Faktor ist zurückgesetzt; bei der nächsten Anmeldung richtet die Person ihn neu ein.",
    done_revoked: "Der Token ist widerrufen.",
};

const EN: PeopleTexts = PeopleTexts {
    actions: "Actions",
    change_role: "Change role",
    disable: "Disable",
    disable_confirm: "Yes, disable: sessions and tokens end at once",
    reset_totp: "Reset the second factor",
    tokens_title: "API tokens",
    tokens_intro: "Tokens for integrations. The secret is shown only when issued; a revoked token is refused on every server within seconds.",
    tokens_none: "No API tokens.",
    col_label: "Label",
    col_role: "Role",
    col_created: "Issued",
    col_expires: "Expires",
    col_used: "Last used",
    col_state: "State",
    never: "never",
    revoke: "Revoke",
    state_active: "valid",
    state_revoked: "revoked",
    state_expired: "expired",
    done_role: "The role is changed; the person signs in again.",
    done_disabled: "The account is disabled; its sessions and tokens end.",
    done_reset: "The second factor is reset; the person sets it up again at the next sign-in.",
    done_revoked: "The token is revoked.",
};

/// The texts, and the notice a `?done=` in `path` asks for.
pub(crate) fn texts_and_notice(lang: Lang, path: &str) -> (&'static PeopleTexts, Option<&'static str>) {
    let t = match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    };
    let done = path.split_once("done=").map(|(_, d)| d.split('&').next().unwrap_or_default());
    let notice = match done {
        Some("role") => Some(t.done_role),
        Some("disabled") => Some(t.done_disabled),
        Some("reset") => Some(t.done_reset),
        Some("revoked") => Some(t.done_revoked),
        _ => None,
    };
    (t, notice)
}

/// One API token.
pub(crate) struct TokenRow {
    pub id: String,
    pub label: String,
    pub role: &'static str,
    pub created: String,
    pub expires: String,
    pub used: String,
    pub state: &'static str,
    pub active: bool,
}

/// The tenant's tokens, for admins and DPOs (others: none).
pub(crate) async fn token_rows(state: &WebState, signed: &Signed) -> Vec<TokenRow> {
    let p = &signed.principal;
    let Some(desk) = state.desk() else { return Vec::new() };
    if !Action::ListCredentials.allows(p.role) {
        return Vec::new();
    }
    let lang = signed.lang();
    let (t, _) = texts_and_notice(lang, "");
    let m = lang.messages();
    let zone = &state.settings().time_zone;
    desk.tokens(p.tenant)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|x| TokenRow {
            id: x.id.to_string(),
            label: x.label,
            role: crate::identity::role_name(m, x.role),
            created: zone.date(lang, x.created_at),
            expires: x.expires_at.map_or_else(|| t.never.to_owned(), |at| zone.date(lang, at)),
            used: x.last_used_at.map_or_else(|| t.never.to_owned(), |at| zone.date_time(lang, at)),
            state: match x.state {
                TokenState::Active => t.state_active,
                TokenState::Revoked => t.state_revoked,
                TokenState::Expired => t.state_expired,
            },
            active: x.state == TokenState::Active,
        })
        .collect()
}

/// An account action's form.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    understood: Option<String>,
}

/// What to do with an account.
enum Change {
    Role(Role),
    Disable,
    ResetSecondFactor,
}

async fn change(state: &WebState, client: &Client, id: &str, form: &ActionForm, change: Option<Change>) -> Response {
    let signed = match signed_post(state, client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let t = signed.lang().messages();
    let (Ok(id), Some(change)) = (id.parse::<StaffId>(), change) else {
        let invalid = Some((t.err_invalid, StatusCode::UNPROCESSABLE_ENTITY));
        return staff_page(state, &signed, "/staff".to_owned(), None, invalid).await;
    };
    let p = &signed.principal;
    let (result, done) = match change {
        Change::Role(role) => (app.change_staff_role(p.actor(), p.tenant, id, role).await, "role"),
        Change::Disable => (app.disable_staff(p.actor(), p.tenant, id).await, "disabled"),
        Change::ResetSecondFactor => (app.reset_second_factor(p.actor(), p.tenant, id).await, "reset"),
    };
    match result {
        Ok(_) => see_other(&format!("/staff?done={done}")),
        Err(e) => {
            let error = Some((error_text(t, &e), status_of(&e)));
            staff_page(state, &signed, "/staff".to_owned(), None, error).await
        }
    }
}

/// `POST /staff/{id}/role`.
pub(crate) async fn change_role(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let role = match form.role.as_str() {
        "admin" => Some(Change::Role(Role::Admin)),
        "dpo" => Some(Change::Role(Role::Dpo)),
        "recruiter" => Some(Change::Role(Role::Recruiter)),
        _ => None,
    };
    change(&state, &client, &id, &form, role).await
}

/// `POST /staff/{id}/disable` (after "understood").
pub(crate) async fn disable(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let confirmed = form.understood.is_some().then_some(Change::Disable);
    change(&state, &client, &id, &form, confirmed).await
}

/// `POST /staff/{id}/second-factor-reset`.
pub(crate) async fn reset_second_factor(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    change(&state, &client, &id, &form, Some(Change::ResetSecondFactor)).await
}

/// `POST /staff/tokens/{id}/revocation` (admins; the token's revocation is audited).
pub(crate) async fn revoke_token(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<crate::identity::TokenForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let lang = signed.lang();
    if !Action::RevokeToken.allows(signed.principal.role) {
        return forbidden(lang);
    }
    let Some(desk) = state.desk() else { return see_other("/signin") };
    let Ok(id) = id.parse::<StaffId>() else { return crate::inbox::not_found(lang, "/staff".to_owned()) };
    let p = &signed.principal;
    match desk.revoke_token(p.tenant, p.actor(), id).await {
        Ok(()) => see_other("/staff?done=revoked"),
        Err(e) => crate::inbox::use_case_failure(&signed, "/staff".to_owned(), &e),
    }
}
