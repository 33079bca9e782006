//! Finished operations as the JS API returns them (`serde-wasm-bindgen` with the core's serde
//! derives; the shapes are the README's and `tests/types.ts`'s contract).

use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::protocol::setup::Outcome;

fn js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyInfo {
    fingerprint: String,
    bits: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimCodeJs<'a> {
    claim_code: &'a str,
    device_ids: &'a [String],
}

#[derive(Serialize)]
struct Acknowledged {
    acknowledged: bool,
}

#[derive(Serialize)]
struct Online<'a> {
    id: &'a str,
    online: bool,
}

/// Every outcome in its general shape; a claimed device as its id.
pub(crate) fn general(outcome: Outcome) -> JsValue {
    match outcome {
        Outcome::Version(v) => v.into(),
        Outcome::Device(info) => js(&info),
        Outcome::PublicKey { fingerprint, bits } => js(&KeyInfo {
            fingerprint: fingerprint.to_hex(),
            bits,
        }),
        Outcome::Networks(list) => js(&list),
        Outcome::Done => JsValue::UNDEFINED,
        Outcome::Connect { acknowledged } => js(&Acknowledged { acknowledged }),
        Outcome::Prepared { ready } => ready.into(),
        Outcome::ClaimCode(reply) => js(&ClaimCodeJs {
            claim_code: &reply.claim_code,
            device_ids: &reply.device_ids,
        }),
        Outcome::Claimed { device_id } => device_id.into(),
    }
}

/// A claimed device as `Cloud.waitForDevice` gives it: `{ id, online: true }`.
pub(crate) fn online(outcome: Outcome) -> JsValue {
    match outcome {
        Outcome::Claimed { device_id } => js(&Online {
            id: &device_id,
            online: true,
        }),
        other => general(other),
    }
}
