//! Sending what the machine asks for, with `gloo-net`, and reading replies as they stream in.
//!
//! Device requests need what `gloo-net` cannot send: `targetAddressSpace` (Chrome's Local
//! Network Access, not in web-sys's WebIDL yet), which Chromium reads only from the `init` of
//! `fetch(url, init)` (a `Request` built from that init loses it), and a CORS-simple shape the
//! device answers (no preflight, which it never answers; `application/x-www-form-urlencoded`,
//! which its Content-Type routing lets through). So this one place calls `fetch` itself for
//! the device and wraps the response in `gloo-net`'s; cloud requests use `gloo-net`'s builder.

use gloo_net::http::{Request, Response};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, ReadableStreamDefaultReader, RequestCache, RequestCredentials, RequestInit,
    RequestMode,
};

use crate::protocol::browser::Permission;
use crate::protocol::setup::{Outgoing, Peer};

/// Sends `outgoing`; resolves with the response once its head arrived.
pub(crate) async fn send(outgoing: &Outgoing, signal: &AbortSignal) -> Result<Response, ()> {
    match outgoing.peer {
        // `fetch(url, init)`: Chromium reads `targetAddressSpace` from the init only; a
        // `Request` built from it (what `gloo-net` sends) loses it, and the request is then
        // blocked as mixed content.
        Peer::Device => {
            let init = device_init(outgoing, signal)?;
            let global = js_sys::global();
            let fetch: js_sys::Function = Reflect::get(&global, &"fetch".into())
                .map_err(drop)?
                .dyn_into()
                .map_err(drop)?;
            let promise: js_sys::Promise = fetch
                .call2(&global, &outgoing.url.as_str().into(), &init)
                .map_err(drop)?
                .dyn_into()
                .map_err(drop)?;
            let response: web_sys::Response = JsFuture::from(promise)
                .await
                .map_err(drop)?
                .dyn_into()
                .map_err(drop)?;
            Ok(Response::from(response))
        }
        Peer::Cloud => cloud_request(outgoing, signal)?.send().await.map_err(drop),
    }
}

fn device_init(outgoing: &Outgoing, signal: &AbortSignal) -> Result<RequestInit, ()> {
    let init = RequestInit::new();
    init.set_method(outgoing.method);
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(signal));
    // A plain object, not `Headers`: Chromium sends its names as written, and the device
    // looks for `Content-Type: ` case-sensitively (spec §3.2.1).
    let headers = js_sys::Object::new();
    if let Some((body, content_type)) = &outgoing.body {
        Reflect::set(&headers, &"Content-Type".into(), &(*content_type).into()).map_err(drop)?;
        init.set_body(&Uint8Array::from(body.as_slice()).into());
    }
    init.set_headers(&headers.into());
    if outgoing.declare_local {
        Reflect::set(&init, &"targetAddressSpace".into(), &"local".into()).map_err(drop)?;
    }
    Ok(init)
}

fn cloud_request(outgoing: &Outgoing, signal: &AbortSignal) -> Result<Request, ()> {
    let builder = match outgoing.method {
        "POST" => Request::post(&outgoing.url),
        "PUT" => Request::put(&outgoing.url),
        _ => Request::get(&outgoing.url),
    }
    .mode(RequestMode::Cors)
    .credentials(RequestCredentials::Omit)
    .cache(RequestCache::NoStore)
    .abort_signal(Some(signal));
    let builder = match &outgoing.authorization {
        Some(authorization) => builder.header("Authorization", authorization),
        None => builder,
    };
    match &outgoing.body {
        Some((body, content_type)) => builder
            .header("Content-Type", content_type)
            .body(Uint8Array::from(body.as_slice()))
            .map_err(drop),
        None => builder.build().map_err(drop),
    }
}

/// The body of a response, piece by piece.
pub(crate) struct Body {
    reader: Option<ReadableStreamDefaultReader>,
}

impl Body {
    pub(crate) fn of(response: &Response) -> Self {
        let reader = response.body().and_then(|stream| {
            stream
                .get_reader()
                .dyn_into::<ReadableStreamDefaultReader>()
                .ok()
        });
        Self { reader }
    }

    /// The next piece; `Ok(None)` at the end.
    pub(crate) async fn next(&self) -> Result<Option<Vec<u8>>, ()> {
        let Some(reader) = &self.reader else {
            return Ok(None);
        };
        let result = JsFuture::from(reader.read()).await.map_err(drop)?;
        let done = Reflect::get(&result, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(None);
        }
        let value = Reflect::get(&result, &"value".into()).map_err(drop)?;
        Ok(Some(value.unchecked_into::<Uint8Array>().to_vec()))
    }
}

/// `navigator.permissions.query({ name: "local-network-access" })`, `None` where the browser
/// has no such permission (it rejects with a TypeError there).
pub(crate) async fn local_network_permission() -> Option<Permission> {
    let global = js_sys::global();
    let navigator = Reflect::get(&global, &"navigator".into()).ok()?;
    let permissions = Reflect::get(&navigator, &"permissions".into()).ok()?;
    let query: js_sys::Function = Reflect::get(&permissions, &"query".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let descriptor = js_sys::Object::new();
    Reflect::set(&descriptor, &"name".into(), &"local-network-access".into()).ok()?;
    let promise: js_sys::Promise = query
        .call1(&permissions, &descriptor)
        .ok()?
        .dyn_into()
        .ok()?;
    let status = JsFuture::from(promise).await.ok()?;
    let state = Reflect::get(&status, &"state".into()).ok()?;
    serde_wasm_bindgen::from_value(state).ok()
}

/// `location.protocol == "https:"`.
pub(crate) fn page_is_https() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &"location".into())
        .and_then(|l| Reflect::get(&l, &"protocol".into()))
        .ok()
        .and_then(|p| p.as_string())
        .is_some_and(|p| p == "https:")
}
