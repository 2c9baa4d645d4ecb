//! The Rhai binding: a cell session. (Skeleton — to be implemented.)

use oxbook_protocol::{CellRun, CellStatus, Output};

pub struct Session {
    engine: rhai::Engine,
    scope: rhai::Scope<'static>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Session { engine: rhai::Engine::new(), scope: rhai::Scope::new() }
    }
    pub fn execute(&mut self, cell_id: &str, code: &str) -> CellRun {
        let result = self.engine.eval_with_scope::<rhai::Dynamic>(&mut self.scope, code);
        let (status, outputs) = match result {
            Ok(value) => (CellStatus::Done, vec![Output::text(value.to_string())]),
            Err(e) => (CellStatus::Failed, vec![Output::text(e.to_string())]),
        };
        CellRun { cell_id: cell_id.to_string(), status, outputs, effects: vec![] }
    }
    pub fn reset(&mut self) {
        self.scope.clear();
    }
}
