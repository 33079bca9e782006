//! `fetch` as the device and the cloud need it: an `AbortController` per request armed by a
//! timer, the body read as a stream, `targetAddressSpace` when asked, nothing else added.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, ReadableStreamDefaultReader, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Closure<dyn FnMut()>, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_js(callback: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Waits `ms` milliseconds.
pub(crate) async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        let callback = Closure::once(move || {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        })
        .into_js_value();
        let _ = set_timeout_js(&callback, ms.min(i32::MAX as u32) as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// A request to send.
pub(crate) struct Outgoing<'a> {
    pub method: &'static str,
    pub url: &'a str,
    /// `(body, content type)`.
    pub body: Option<(&'a [u8], &'static str)>,
    pub authorization: Option<&'a str>,
    pub target_address_space_local: bool,
    pub timeout_ms: u32,
    /// Aborts the request when it fires (the caller's cancel).
    pub cancel: Option<&'a AbortSignal>,
}

/// How a request ended without a usable response.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// Our timer fired.
    TimedOut,
    /// The caller's signal fired.
    Cancelled,
    /// `fetch` rejected, or the body broke off.
    Network,
}

/// A response whose body is read piece by piece.
pub(crate) struct Incoming {
    pub status: u16,
    reader: Option<ReadableStreamDefaultReader>,
    guard: Rc<Guard>,
}

/// The controller and timer of one request; dropping it aborts whatever is still open
/// (for 0.6 firmware, whose replies never end, this frees the device's only socket).
struct Guard {
    controller: AbortController,
    timer: RefCell<Option<JsValue>>,
    timed_out: Rc<Cell<bool>>,
    cancelled: Rc<Cell<bool>>,
    _on_timeout: Closure<dyn FnMut()>,
    _on_cancel: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.borrow_mut().take() {
            clear_timeout(&timer);
        }
        if let Some((signal, callback)) = &self._on_cancel {
            let _ = signal
                .remove_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        }
        self.controller.abort();
    }
}

impl Guard {
    fn failure(&self) -> FetchError {
        if self.cancelled.get() {
            FetchError::Cancelled
        } else if self.timed_out.get() {
            FetchError::TimedOut
        } else {
            FetchError::Network
        }
    }
}

/// Sends a request: resolves when the status and headers have arrived.
pub(crate) async fn send(request: Outgoing<'_>) -> Result<Incoming, FetchError> {
    let controller = AbortController::new().map_err(|_| FetchError::Network)?;
    let timed_out = Rc::new(Cell::new(false));
    let cancelled = Rc::new(Cell::new(false));
    let on_timeout = {
        let (controller, timed_out) = (controller.clone(), timed_out.clone());
        Closure::<dyn FnMut()>::new(move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let on_cancel = request.cancel.map(|signal| {
        let (controller, cancelled) = (controller.clone(), cancelled.clone());
        let callback = Closure::<dyn FnMut()>::new(move || {
            cancelled.set(true);
            controller.abort();
        });
        let _ = signal.add_event_listener_with_callback("abort", callback.as_ref().unchecked_ref());
        (signal.clone(), callback)
    });
    if request.cancel.is_some_and(AbortSignal::aborted) {
        return Err(FetchError::Cancelled);
    }
    let timer = set_timeout(&on_timeout, request.timeout_ms.min(i32::MAX as u32) as i32);
    let guard = Rc::new(Guard {
        controller,
        timer: RefCell::new(Some(timer)),
        timed_out,
        cancelled,
        _on_timeout: on_timeout,
        _on_cancel: on_cancel,
    });

    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_cache(web_sys::RequestCache::NoStore);
    init.set_signal(Some(&guard.controller.signal()));
    let headers = Object::new();
    if let Some((body, content_type)) = request.body {
        let _ = Reflect::set(&headers, &"Content-Type".into(), &content_type.into());
        init.set_body(&Uint8Array::from(body).into());
    }
    if let Some(authorization) = request.authorization {
        let _ = Reflect::set(&headers, &"Authorization".into(), &authorization.into());
    }
    init.set_headers(&headers.into());
    if request.target_address_space_local {
        // Not in web-sys's WebIDL yet (Chrome's Local Network Access).
        let _ = Reflect::set(&init, &"targetAddressSpace".into(), &"local".into());
    }
    let response = match JsFuture::from(global_fetch(request.url, &init)).await {
        Ok(response) => response.unchecked_into::<Response>(),
        Err(_) => return Err(guard.failure()),
    };
    let reader = response.body().and_then(|stream| {
        stream
            .get_reader()
            .dyn_into::<ReadableStreamDefaultReader>()
            .ok()
    });
    Ok(Incoming {
        status: response.status(),
        reader,
        guard,
    })
}

impl Incoming {
    /// The next piece of the body, `None` at its end.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, FetchError> {
        let Some(reader) = &self.reader else {
            return Ok(None);
        };
        let result = JsFuture::from(reader.read())
            .await
            .map_err(|_| self.guard.failure())?;
        let done = Reflect::get(&result, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(None);
        }
        let value = Reflect::get(&result, &"value".into()).map_err(|_| FetchError::Network)?;
        Ok(Some(value.unchecked_into::<Uint8Array>().to_vec()))
    }

    /// The whole body.
    pub(crate) async fn bytes(mut self) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// One request to the device at a time: the device serves commands one after another and
/// 0.6 firmware has a single HTTP socket.
#[derive(Default)]
pub(crate) struct DeviceLock {
    state: RefCell<(bool, VecDeque<Waker>)>,
}

/// Holds the lock until dropped.
pub(crate) struct DeviceLockGuard {
    lock: Rc<DeviceLock>,
}

impl Drop for DeviceLockGuard {
    fn drop(&mut self) {
        let mut state = self.lock.state.borrow_mut();
        state.0 = false;
        // Wake every waiter, not one: a waiter whose future was dropped must not swallow
        // the only wake-up. The first to run takes the lock; the others queue again.
        for waker in state.1.drain(..) {
            waker.wake();
        }
    }
}

pub(crate) fn lock(lock: Rc<DeviceLock>) -> impl Future<Output = DeviceLockGuard> {
    struct Acquire(Rc<DeviceLock>);
    impl Future for Acquire {
        type Output = DeviceLockGuard;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeviceLockGuard> {
            let mut state = self.0.state.borrow_mut();
            if state.0 {
                state.1.push_back(cx.waker().clone());
                Poll::Pending
            } else {
                state.0 = true;
                drop(state);
                Poll::Ready(DeviceLockGuard {
                    lock: self.0.clone(),
                })
            }
        }
    }
    Acquire(lock)
}
