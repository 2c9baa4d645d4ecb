//! The kernel restart policy and the crash report shown under a cell: plain functions,
//! tested natively and in the browser.

use oxbook_frontend::kernel_bridge::{after_crash, CrashDecision, KernelError, MAX_START_ATTEMPTS};
use oxbook_frontend::runner::kernel_failure;
use oxbook_protocol::{CellStatus, Output};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::*;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test_configure!(run_in_browser);

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_kernel_that_had_been_ready_is_always_replaced() {
    assert_eq!(
        after_crash(true, 0),
        CrashDecision::Respawn { failed_starts: 0 }
    );
    assert_eq!(
        after_crash(true, MAX_START_ATTEMPTS - 1),
        CrashDecision::Respawn { failed_starts: 0 }
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_kernel_that_keeps_dying_while_loading_is_given_up() {
    let mut failed = 0;
    for _ in 1..MAX_START_ATTEMPTS {
        match after_crash(false, failed) {
            CrashDecision::Respawn { failed_starts } => failed = failed_starts,
            other => panic!("gave up too early: {other:?}"),
        }
    }
    assert_eq!(
        after_crash(false, failed),
        CrashDecision::GiveUp {
            failed_starts: MAX_START_ATTEMPTS
        }
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_crash_fails_the_cell_and_says_variables_are_lost() {
    let (status, output) = kernel_failure(&KernelError::Crashed {
        reason: "panic: index out of bounds".into(),
    });
    assert_eq!(status, CellStatus::Failed);
    let Output::Error(error) = output else {
        panic!("expected an error output")
    };
    assert_eq!(error.ename, "KernelCrashed");
    assert!(
        error.message.contains("index out of bounds"),
        "{}",
        error.message
    );
    assert!(error.message.contains("restarted"), "{}", error.message);
    assert!(error.message.contains("variables"), "{}", error.message);
}
