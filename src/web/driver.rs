//! The driver: one loop around the core's [`Setup`] machine. It sends what the machine asks,
//! feeds back what arrives (with the time), arms one timer at the machine's next deadline, and
//! hands finished operations to their promises and progress to the flow's listeners, and tells
//! the machine when the page is shown or hidden. It holds no policy: every deadline, retry and
//! decision is the machine's.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, EventTarget};

use crate::protocol::setup::{
    Event, NetFailure, OpId, Operation, Outcome, Peer, Progress, Setup, SetupConfig, Transmit,
    TransmitId,
};
use crate::protocol::Error;
use crate::web::error::to_js_in;
use crate::web::fetch::{self, Body};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Milliseconds on the page's monotonic clock.
pub(crate) fn now() -> u64 {
    performance_now().max(0.0) as u64
}

/// How a finished operation's outcome becomes a JS value.
pub(crate) type Shape = fn(Outcome) -> JsValue;

struct Pending {
    resolve: Function,
    reject: Function,
    step: &'static str,
    shape: Shape,
}

type Listener = Rc<dyn Fn(&Progress)>;

/// The armed timer: its deadline, its handle, its callback.
type Timer = (u64, JsValue, Closure<dyn FnMut()>);

/// The page's `visibilitychange` listener, removed with the driver.
type VisibilityListener = (EventTarget, Closure<dyn FnMut()>);

/// A machine and everything in flight for it.
pub(crate) struct Driver {
    machine: RefCell<Setup<getrandom::SysRng>>,
    pending: RefCell<Vec<(OpId, Pending)>>,
    requests: RefCell<Vec<(TransmitId, AbortController)>>,
    timer: RefCell<Option<Timer>>,
    listeners: RefCell<Vec<Listener>>,
    visibility: RefCell<Option<VisibilityListener>>,
}

impl Driver {
    pub(crate) fn new(config: SetupConfig) -> Rc<Self> {
        let driver = Rc::new(Self {
            machine: RefCell::new(Setup::new(config, getrandom::SysRng)),
            pending: RefCell::new(Vec::new()),
            requests: RefCell::new(Vec::new()),
            timer: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            visibility: RefCell::new(None),
        });
        driver.follow_visibility();
        driver
    }

    /// Feeds the machine whether the page is shown (`document.visibilityState`), now and at
    /// every change. Without a document (a worker) the page counts as shown.
    fn follow_visibility(self: &Rc<Self>) {
        let Some(document) = Reflect::get(&js_sys::global(), &"document".into())
            .ok()
            .and_then(|d| d.dyn_into::<EventTarget>().ok())
        else {
            return;
        };
        let shown = |document: &EventTarget| {
            Reflect::get(document, &"visibilityState".into())
                .ok()
                .and_then(|s| s.as_string())
                .is_none_or(|s| s != "hidden")
        };
        self.machine
            .borrow_mut()
            .set_visible(now(), shown(&document));
        let driver = Rc::downgrade(self);
        let target = document.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(driver) = driver.upgrade() {
                let visible = shown(&target);
                driver.feed(|machine, now| machine.set_visible(now, visible));
            }
        });
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            callback.as_ref().unchecked_ref(),
        );
        *self.visibility.borrow_mut() = Some((document, callback));
    }

    /// Reads the machine.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Setup<getrandom::SysRng>) -> T) -> T {
        f(&self.machine.borrow())
    }

    /// Changes the machine outside an operation (configuration, the next device).
    pub(crate) fn update<T>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut Setup<getrandom::SysRng>) -> T,
    ) -> T {
        let result = f(&mut self.machine.borrow_mut());
        self.pump();
        result
    }

    /// Progress of flows, to `listener`.
    pub(crate) fn subscribe(&self, listener: Listener) {
        self.listeners.borrow_mut().push(listener);
    }

    /// Starts `operation`: a promise of its outcome, shaped by `shape`.
    pub(crate) fn start(
        self: &Rc<Self>,
        operation: Operation,
        flow: bool,
        shape: Shape,
    ) -> Promise {
        self.start_op(operation, flow, shape).0
    }

    /// [`start`](Self::start), with the operation's handle (to abort it alone).
    pub(crate) fn start_op(
        self: &Rc<Self>,
        operation: Operation,
        flow: bool,
        shape: Shape,
    ) -> (Promise, OpId) {
        let step = operation.step().name();
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
        let (resolve, reject) = slot.expect("the Promise executor runs at once");
        // Its events wait in the machine until `pump`, after the entry is in.
        let op = self.machine.borrow_mut().start(now(), operation, flow);
        self.pending.borrow_mut().push((
            op,
            Pending {
                resolve,
                reject,
                step,
                shape,
            },
        ));
        self.pump();
        (promise, op)
    }

    /// Stops one operation.
    pub(crate) fn abort(self: &Rc<Self>, op: OpId) {
        self.machine.borrow_mut().abort(now(), op);
        self.pump();
    }

    /// Stops everything.
    pub(crate) fn cancel(self: &Rc<Self>) {
        self.machine.borrow_mut().cancel(now());
        self.pump();
    }

    /// Does what the machine asks until it asks nothing more, then arms the timer.
    fn pump(self: &Rc<Self>) {
        loop {
            let transmit = self.machine.borrow_mut().poll_transmit();
            let Some(transmit) = transmit else { break };
            match transmit {
                Transmit::Send(outgoing) => {
                    let Ok(controller) = AbortController::new() else {
                        self.machine.borrow_mut().handle_failure(
                            now(),
                            outgoing.id,
                            NetFailure::Network { permission: None },
                        );
                        continue;
                    };
                    self.requests
                        .borrow_mut()
                        .push((outgoing.id, controller.clone()));
                    wasm_bindgen_futures::spawn_local(perform(self.clone(), outgoing, controller));
                }
                Transmit::Abort(id) => {
                    if let Some(controller) = self.forget(id) {
                        controller.abort();
                    }
                }
            }
        }
        loop {
            let event = self.machine.borrow_mut().poll_event();
            let Some(event) = event else { break };
            match event {
                Event::Progress(progress) => {
                    let listeners: Vec<Listener> = self.listeners.borrow().clone();
                    for listener in listeners {
                        listener(&progress);
                    }
                }
                Event::Finished { op, result } => {
                    let index = self.pending.borrow().iter().position(|(id, _)| *id == op);
                    let Some(index) = index else { continue };
                    let (_, pending) = self.pending.borrow_mut().swap_remove(index);
                    let _ = match result {
                        Ok(outcome) => pending
                            .resolve
                            .call1(&JsValue::NULL, &(pending.shape)(outcome)),
                        Err(error) => pending
                            .reject
                            .call1(&JsValue::NULL, &to_js_in(&error, pending.step)),
                    };
                }
            }
        }
        self.arm_timer();
    }

    fn arm_timer(self: &Rc<Self>) {
        let at = self.machine.borrow().poll_timeout();
        // Most inputs (a body's pieces) leave the deadline as it was: keep that timer.
        if at.is_some() && self.timer.borrow().as_ref().map(|t| t.0) == at {
            return;
        }
        if let Some((_, handle, _)) = self.timer.borrow_mut().take() {
            clear_timeout(&handle);
        }
        let Some(at) = at else {
            return;
        };
        // The timer holds its driver: an operation keeps the machine alive until it settles,
        // even when the page dropped the object that started it (a `Cloud` made for one call
        // and collected). The cycle ends when the timer fires or is cleared, which it is once
        // nothing is left to wait for: every operation has a deadline.
        let driver = Rc::clone(self);
        let callback = Closure::<dyn FnMut()>::new(move || {
            let driver = Rc::clone(&driver);
            driver.timer.borrow_mut().take();
            driver.machine.borrow_mut().handle_timeout(now());
            driver.pump();
        });
        let delay = at.saturating_sub(now()) as f64;
        let handle = set_timeout(callback.as_ref().unchecked_ref(), delay);
        *self.timer.borrow_mut() = Some((at, handle, callback));
    }

    /// Whether `id` is still wanted (the machine did not abort it).
    fn live(&self, id: TransmitId) -> bool {
        self.requests.borrow().iter().any(|(t, _)| *t == id)
    }

    /// Stops tracking `id`; its controller, if it was tracked.
    fn forget(&self, id: TransmitId) -> Option<AbortController> {
        let mut requests = self.requests.borrow_mut();
        let index = requests.iter().position(|(t, _)| *t == id)?;
        Some(requests.swap_remove(index).1)
    }

    fn feed(self: &Rc<Self>, f: impl FnOnce(&mut Setup<getrandom::SysRng>, u64)) {
        f(&mut self.machine.borrow_mut(), now());
        self.pump();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some((document, callback)) = self.visibility.take() {
            let _ = document.remove_event_listener_with_callback(
                "visibilitychange",
                callback.as_ref().unchecked_ref(),
            );
        }
    }
}

/// One request, from sending to its end, its arrivals fed back as they come.
async fn perform(
    driver: Rc<Driver>,
    outgoing: crate::protocol::setup::Outgoing,
    controller: AbortController,
) {
    let id = outgoing.id;
    let peer = outgoing.peer;
    let response = fetch::send(&outgoing, &controller.signal()).await;
    drop(outgoing);
    let response = match response {
        Ok(response) => response,
        Err(()) => return fail(&driver, id, peer).await,
    };
    if !driver.live(id) {
        return;
    }
    driver.feed(|m, now| m.handle_head(now, id, response.status()));
    let body = Body::of(&response);
    loop {
        if !driver.live(id) {
            return;
        }
        match body.next().await {
            Ok(Some(chunk)) if driver.live(id) => {
                driver.feed(|m, now| m.handle_data(now, id, &chunk))
            }
            Ok(Some(_)) => return,
            Ok(None) => {
                driver.forget(id);
                return driver.feed(|m, now| m.handle_end(now, id));
            }
            Err(()) => return fail(&driver, id, peer).await,
        }
    }
}

/// A request failed: the device's failures come with the Local Network Access permission
/// state, which tells a denied permission from an unreachable device.
async fn fail(driver: &Rc<Driver>, id: TransmitId, peer: Peer) {
    if !driver.live(id) {
        return;
    }
    let permission = match peer {
        Peer::Device => fetch::local_network_permission().await,
        Peer::Cloud => None,
    };
    if driver.forget(id).is_none() {
        return;
    }
    driver.feed(|m, now| m.handle_failure(now, id, NetFailure::Network { permission }));
}

/// A rejected promise with a core error, for arguments refused before anything starts.
pub(crate) fn rejected(error: &Error, step: &str) -> Promise {
    Promise::reject(&to_js_in(error, step))
}
