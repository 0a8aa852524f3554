//! `meta`, `endpoints` and `endpoint`: what Misskey clients ask a server at start-up.
//!
//! `meta` answers Misskey's `MetaLite` (`MetaDetailed` with `detail: true`) with missive's
//! name, version and origin; for what missive does not have (captchas, e-mail, ads, object
//! storage, federation) it says "off" or `null`, as a Misskey with those unset does.

use missive_core::packed::{self, MeSettings};
use serde_json::{Value, json};

use crate::api::account::MENTION_LIMIT;
use crate::api::endpoints::{self, ENDPOINTS, MAX_NOTE_TEXT};
use crate::api::schema::Kind;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::Ctx;

pub async fn meta(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let mut meta = meta_lite(ctx);
    if p.bool("detail") == Some(true) {
        let require_setup = !ctx.store.has_root_user().await?;
        let detailed = json!({
            "features": {
                "registration": ctx.config.signup_open,
                "emailRequiredForSignup": false,
                "localTimeline": false,
                "globalTimeline": false,
                "hcaptcha": false,
                "turnstile": false,
                "recaptcha": false,
                "objectStorage": false,
                "serviceWorker": false,
                "miauth": false,
            },
            "proxyAccountName": null,
            "requireSetup": require_setup,
            "cacheRemoteFiles": false,
            "cacheRemoteSensitiveFiles": false,
        });
        if let (Value::Object(meta), Value::Object(detailed)) = (&mut meta, detailed) {
            meta.extend(detailed);
        }
    }
    Reply::json(&meta)
}

fn meta_lite(ctx: &Ctx) -> Value {
    let config = &ctx.config;
    let settings = MeSettings {
        webhook_limit: config.webhook_limit,
        mention_limit: MENTION_LIMIT,
        with_secrets: false,
    };
    let mut meta = json!({
        "maintainerName": null,
        "maintainerEmail": null,
        "version": env!("CARGO_PKG_VERSION"),
        "providesTarball": false,
        "name": "missive",
        "shortName": null,
        "uri": config.origin.url,
        "description": "A Misskey-compatible server for user webhooks.",
        "langs": [],
        "tosUrl": null,
        // missive publishes no repository address.
        "repositoryUrl": null,
        "feedbackUrl": null,
        "defaultDarkTheme": null,
        "defaultLightTheme": null,
        "clientOptions": {},
        "disableRegistration": !config.signup_open,
        "emailRequiredForSignup": false,
        "enableHcaptcha": false,
        "hcaptchaSiteKey": null,
        "enableMcaptcha": false,
        "mcaptchaSiteKey": null,
        "mcaptchaInstanceUrl": null,
        "enableRecaptcha": false,
        "recaptchaSiteKey": null,
        "enableTurnstile": false,
        "turnstileSiteKey": null,
        "enableTestcaptcha": false,
        "googleAnalyticsMeasurementId": null,
        "swPublickey": null,
    });
    // Split in two: one literal this long exceeds the macro's recursion limit.
    let rest = json!({
        "mascotImageUrl": "/assets/ai.png",
        "bannerUrl": null,
        "serverErrorImageUrl": null,
        "infoImageUrl": null,
        "notFoundImageUrl": null,
        "iconUrl": null,
        "maxNoteTextLength": MAX_NOTE_TEXT,
        "ads": [],
        "notesPerOneAd": 0,
        "enableEmail": false,
        "enableServiceWorker": false,
        "translatorAvailable": false,
        "sentryForFrontend": null,
        "mediaProxy": format!("{}/proxy", config.origin.url),
        "enableUrlPreview": false,
        "backgroundImageUrl": null,
        "impressumUrl": null,
        "logoImageUrl": null,
        "privacyPolicyUrl": null,
        "inquiryUrl": null,
        "serverRules": [],
        "themeColor": null,
        "policies": packed::policies(settings),
        "noteSearchableScope": "local",
        // missive has no drive.
        "maxFileSize": 0,
        "federation": "none",
        "enableServerMachineStats": false,
    });
    if let (Value::Object(meta), Value::Object(rest)) = (&mut meta, rest) {
        meta.extend(rest);
    }
    meta
}

/// `endpoints`: the names of every endpoint served, in the table's order.
pub fn endpoints(call: Call) -> ApiResult {
    call.check()?;
    let names: Vec<&str> = ENDPOINTS.iter().map(|e| e.name).collect();
    Reply::json(&names)
}

/// `endpoint`: one endpoint's parameters with their types as Misskey names them
/// (`String`, `Boolean`, …); an unknown name answers `null`, which Misskey sends as 204.
pub fn endpoint(call: Call) -> ApiResult {
    let p = call.check()?;
    let Some(endpoint) = endpoints::find(&p.required_str("endpoint")) else {
        return Ok(Reply::NoContent);
    };
    let params: Vec<Value> = endpoint
        .params
        .props
        .iter()
        .map(|prop| json!({ "name": prop.name, "type": misskey_type(prop.kind) }))
        .collect();
    Reply::json(&json!({ "params": params }))
}

/// The JSON type of a property, capitalized as Misskey's `endpoint` answers it.
fn misskey_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Str(_)
        | Kind::NonBlankStr(_)
        | Kind::Username
        | Kind::Id
        | Kind::Enum(_)
        | Kind::Url => "String",
        Kind::Bool => "Boolean",
        Kind::Int { .. } => "Integer",
        Kind::IdList { .. } | Kind::EventList => "Array",
        Kind::Object(_) => "Object",
    }
}
