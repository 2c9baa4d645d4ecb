use oxbook_kernel::Session;
#[test]
fn smoke() {
    let mut s = Session::new();
    let t = std::time::Instant::now();
    let run = s.execute("c", "loop {}");
    println!("{:?} {:?}", t.elapsed(), run.outputs);
    let t = std::time::Instant::now();
    let run = s.execute("c", "let x = 0; while true { x += 1; }");
    println!("{:?} {:?}", t.elapsed(), run.outputs);
}
