//! The bridge to the kernel worker, against stand-in workers speaking the real protocol:
//! requests made before the worker is ready, a crash (thrown error), a panic report, a
//! worker that never starts, a restart while a cell hangs, and the run context each new
//! kernel session is given.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{wait_for, worker_url, BROKEN_KERNEL, FAKE_KERNEL};
use oxbook_frontend::kernel_bridge::{
    new_session_id, Cancelling, CellProgress, KernelBridge, KernelError, KernelState,
    MAX_START_ATTEMPTS,
};
use oxbook_frontend::worker_wire::cross_origin_isolated;
use oxbook_protocol::{CellStatus, Output, RunContext};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn recorded_bridge(script: &str) -> (KernelBridge, Rc<RefCell<Vec<KernelState>>>) {
    let states = Rc::new(RefCell::new(Vec::new()));
    let record = states.clone();
    let bridge = KernelBridge::spawn(worker_url(script), move |s| record.borrow_mut().push(s));
    (bridge, states)
}

#[wasm_bindgen_test]
async fn executes_after_the_worker_becomes_ready() {
    let (bridge, states) = recorded_bridge(FAKE_KERNEL);
    assert_eq!(bridge.state(), KernelState::Starting);
    // Sent before the worker said Ready: held back, then delivered.
    let run = bridge.execute("c1", "x = 1").await.expect("the cell runs");
    assert_eq!(run.cell_id, "c1");
    assert_eq!(run.status, CellStatus::Done);
    assert_eq!(run.outputs, vec![Output::text("echo: x = 1 files=0")]);
    assert_eq!(bridge.state(), KernelState::Ready);
    assert_eq!(states.borrow().first(), Some(&KernelState::Starting));
    assert!(states.borrow().contains(&KernelState::Busy));
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn provided_files_reach_the_kernel() {
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    bridge.provide_file("data/iris.csv", b"a,b\n1,2\n".to_vec());
    let run = bridge.execute("c1", "n").await.unwrap();
    assert_eq!(run.outputs, vec![Output::text("echo: n files=1")]);
    bridge.reset();
    let run = bridge.execute("c1", "n").await.unwrap();
    assert_eq!(run.outputs, vec![Output::text("echo: n files=0")]);
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn a_crash_fails_the_cell_and_starts_a_new_kernel() {
    let (bridge, states) = recorded_bridge(FAKE_KERNEL);
    bridge.execute("c0", "a = 1").await.unwrap();
    let error = bridge
        .execute("c1", "crash now")
        .await
        .expect_err("the kernel died");
    match &error {
        KernelError::Crashed { reason } => {
            assert!(reason.contains("simulated kernel crash"), "{reason}")
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    assert_eq!(
        bridge.workers_started(),
        2,
        "a fresh worker replaces the dead one"
    );
    assert!(states.borrow().contains(&KernelState::Restarting));
    wait_for("the new kernel", || bridge.state() == KernelState::Ready).await;
    // The new kernel works, and it is a new session (it holds no files of the old one).
    let run = bridge
        .execute("c2", "after")
        .await
        .expect("the restarted kernel runs cells");
    assert_eq!(run.outputs, vec![Output::text("echo: after files=0")]);
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn a_panic_report_names_the_cause() {
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    let error = bridge
        .execute("c1", "panic please")
        .await
        .expect_err("the kernel panicked");
    let KernelError::Crashed { reason } = error else {
        panic!("expected a crash, got {error:?}")
    };
    assert!(
        reason.contains("simulated panic at kernel/src/session.rs"),
        "{reason}"
    );
    assert_eq!(
        bridge.workers_started(),
        2,
        "one replacement, not one per event"
    );
    wait_for("the new kernel", || bridge.state() == KernelState::Ready).await;
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn a_worker_that_never_starts_is_given_up() {
    let (bridge, states) = recorded_bridge(BROKEN_KERNEL);
    let error = bridge
        .execute("c1", "x")
        .await
        .expect_err("there is no kernel");
    let KernelError::Unavailable { reason } = error else {
        panic!("expected unavailable, got {error:?}")
    };
    assert!(reason.contains("broken worker script"), "{reason}");
    assert_eq!(bridge.workers_started(), MAX_START_ATTEMPTS);
    assert_eq!(bridge.state(), KernelState::Failed);
    assert_eq!(states.borrow().last(), Some(&KernelState::Failed));
    // Once failed, requests are refused at once rather than hanging.
    assert!(matches!(
        bridge.execute("c2", "y").await,
        Err(KernelError::Unavailable { .. })
    ));
}

#[wasm_bindgen_test]
async fn restart_interrupts_a_hung_cell() {
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    let result = Rc::new(RefCell::new(None));
    {
        let (bridge, result) = (bridge.clone(), result.clone());
        wasm_bindgen_futures::spawn_local(async move {
            *result.borrow_mut() = Some(bridge.execute("c1", "hang forever").await);
        });
    }
    wait_for("the cell to start", || bridge.state() == KernelState::Busy).await;
    assert!(
        matches!(bridge.execute("c2", "x").await, Err(KernelError::Busy { running }) if running == "c1")
    );
    bridge.restart();
    assert_eq!(bridge.state(), KernelState::Restarting);
    wait_for("the interrupted cell to end", || result.borrow().is_some()).await;
    assert_eq!(
        result.borrow_mut().take().unwrap(),
        Err(KernelError::Restarted)
    );
    let run = bridge.execute("c3", "fresh").await.unwrap();
    assert_eq!(run.outputs, vec![Output::text("echo: fresh files=0")]);
    assert_eq!(bridge.workers_started(), 2);
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn progress_reaches_the_running_cell_only() {
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    let heard = Rc::new(RefCell::new(Vec::new()));
    let record = heard.clone();
    let run = bridge
        .execute_with_progress("c1", "progress 3", move |p| record.borrow_mut().push(p))
        .await
        .unwrap();
    assert_eq!(run.status, CellStatus::Done);
    let heard = heard.borrow();
    assert_eq!(
        *heard,
        (1..=3)
            .map(|done| CellProgress {
                done,
                total: 3,
                unit: "trees".into()
            })
            .collect::<Vec<_>>(),
        "another cell's progress is not this cell's"
    );
    assert_eq!(heard[1].text(), "2 of 3 trees");
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn cancel_stops_a_busy_cell_through_shared_memory() {
    // wasm-bindgen-test-runner serves its page cross-origin isolated, as Oxbook's server
    // does; a runner that does not cannot test this.
    if !cross_origin_isolated() {
        web_sys::console::warn_1(
            &"not cross-origin isolated: shared-memory cancel untested".into(),
        );
        return;
    }
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    assert!(bridge.can_interrupt());
    let result = Rc::new(RefCell::new(None));
    {
        let (bridge, result) = (bridge.clone(), result.clone());
        wasm_bindgen_futures::spawn_local(async move {
            *result.borrow_mut() = Some(bridge.execute("c1", "spin until cancelled").await);
        });
    }
    wait_for("the cell to start", || bridge.state() == KernelState::Busy).await;
    // The worker is busy: only the shared flag can reach it.
    gloo_timers::future::TimeoutFuture::new(200).await;
    assert!(
        result.borrow().is_none(),
        "the spinning cell ended by itself"
    );
    assert_eq!(bridge.cancel_cell(), Cancelling::Flagged);
    wait_for("the cancelled cell to end", || result.borrow().is_some()).await;
    let run = result
        .borrow_mut()
        .take()
        .unwrap()
        .expect("the cell ends, not the kernel");
    assert_eq!(run.status, CellStatus::Failed);
    assert!(matches!(&run.outputs[0], Output::Error(e) if e.ename == "Cancelled"));
    // The same worker goes on, and the flag was lowered for the next cell.
    let run = bridge.execute("c2", "after").await.unwrap();
    assert_eq!(run.outputs, vec![Output::text("echo: after files=0")]);
    assert_eq!(bridge.workers_started(), 1);
    bridge.shutdown();
}

#[wasm_bindgen_test]
async fn without_shared_memory_cancel_restarts_the_kernel_and_says_so() {
    // As on a page that is not cross-origin isolated: no SharedArrayBuffer.
    let bridge = KernelBridge::spawn_unshared(worker_url(FAKE_KERNEL), |_| {});
    assert!(!bridge.can_interrupt());
    assert_eq!(bridge.cancel_cell(), Cancelling::Nothing);
    let result = Rc::new(RefCell::new(None));
    {
        let (bridge, result) = (bridge.clone(), result.clone());
        wasm_bindgen_futures::spawn_local(async move {
            *result.borrow_mut() = Some(bridge.execute("c1", "hang forever").await);
        });
    }
    wait_for("the cell to start", || bridge.state() == KernelState::Busy).await;
    assert_eq!(bridge.cancel_cell(), Cancelling::Restarted);
    wait_for("the cancelled cell to end", || result.borrow().is_some()).await;
    let error = result.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(error, KernelError::CancelledByRestart);
    assert!(
        error
            .to_string()
            .contains("variables from earlier cells are lost"),
        "{error}"
    );
    // A new kernel took its place.
    let run = bridge.execute("c2", "fresh").await.unwrap();
    assert_eq!(run.outputs, vec![Output::text("echo: fresh files=0")]);
    assert_eq!(bridge.workers_started(), 2);
    bridge.shutdown();
}

/// The context the stand-in kernel was last sent, as it reports it.
async fn kernel_context(bridge: &KernelBridge, cell: &str) -> Option<RunContext> {
    let run = bridge
        .execute(cell, "context")
        .await
        .expect("the cell runs");
    let [Output::DisplayData { data }] = run.outputs.as_slice() else {
        panic!("one output expected: {run:?}")
    };
    serde_json::from_str(data.text.as_deref().expect("text")).expect("context JSON")
}

#[wasm_bindgen_test]
async fn each_kernel_session_gets_the_notebook_and_a_fresh_session_id() {
    let (bridge, _) = recorded_bridge(FAKE_KERNEL);
    assert_eq!(bridge.run_context(), None);
    // Without a notebook, nothing is sent.
    assert_eq!(kernel_context(&bridge, "c0").await, None);

    bridge.set_notebook("nb-1", 3);
    let first = kernel_context(&bridge, "c1").await.expect("a context");
    assert_eq!(first.notebook_id.as_deref(), Some("nb-1"));
    assert_eq!(first.notebook_revision, Some(3));
    assert_eq!(Some(&first), bridge.run_context().as_ref());
    assert!(
        uuid::Uuid::parse_str(&first.session_id).is_ok_and(|u| u.get_version_num() == 4),
        "a v4 UUID: {}",
        first.session_id
    );

    // A save moves the revision on; the session is the same kernel, so its id stays.
    bridge.set_notebook("nb-1", 4);
    let saved = kernel_context(&bridge, "c2").await.unwrap();
    assert_eq!(saved.notebook_revision, Some(4));
    assert_eq!(saved.session_id, first.session_id);

    // A restarted kernel counts runs from the start: it gets a new session id, before any cell.
    bridge.restart();
    let restarted = kernel_context(&bridge, "c3").await.unwrap();
    assert_ne!(restarted.session_id, first.session_id);
    assert_eq!(restarted.notebook_id.as_deref(), Some("nb-1"));
    assert_eq!(restarted.notebook_revision, Some(4));

    // So does a reset one.
    bridge.reset();
    let reset = kernel_context(&bridge, "c4").await.unwrap();
    assert_ne!(reset.session_id, restarted.session_id);
    assert_eq!(Some(&reset), bridge.run_context().as_ref());

    // And one that replaced a crashed worker.
    assert!(bridge.execute("c5", "crash").await.is_err());
    let respawned = kernel_context(&bridge, "c6").await.unwrap();
    assert_ne!(respawned.session_id, reset.session_id);
    bridge.shutdown();
}

#[wasm_bindgen_test]
fn session_ids_are_random_v4_uuids() {
    let ids: std::collections::BTreeSet<String> = (0..50).map(|_| new_session_id()).collect();
    assert_eq!(ids.len(), 50);
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert!(oxbook_protocol::is_valid_run_id(&format!("{id}.1")));
    }
}
