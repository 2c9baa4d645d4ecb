//! The page's entry point: mounts the app. Everything else is in the library.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(oxbook_frontend::app::App);
}
