//! Boundary tests of the kernel: cell source in, the cell run (status, outputs, effects)
//! out, through one `check` helper. Snapshots update with `UPDATE_EXPECT=1 cargo test`.
//!
//! The input is a small script of steps separated by lines starting with `---`:
//! a plain `---` starts the next cell, `--- provide URL` makes the lines up to the next
//! `---` the content of URL, and `--- rerun N` runs cell N again (as a host does once it
//! has provided the files a cell waited for).
//!
//! In the browser these run in a dedicated worker, where the kernel runs in production:
//! a worker has no DOM, so anything reaching for `window` (as plotters' text measuring
//! does on wasm32) fails here rather than in the product.

use expect_test::{expect, Expect};
use oxbook_kernel::session::Limits;
use oxbook_kernel::{parse_csv, ModelArtifact, Session};
use oxbook_protocol::{CellRun, Effect, Output};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const PEOPLE: &str = "\
name,age,income,member
Ana,34,52000.5,true
Ben,28,31000,false
Cara,45,88000,true
Dan,NA,41000,false
Eve,52,97000.25,true
Finn,23,24000,false
Gus,38,45000,true
Hana,31,58000,false
";

/// One run of a cell as text: status, then each output and effect on its own lines.
fn render(run: &CellRun) -> String {
    let status = serde_json::to_value(run.status).unwrap();
    let mut lines = vec![format!("status: {}", status.as_str().unwrap())];
    for output in &run.outputs {
        match output {
            Output::DisplayData { data } => {
                if let Some(svg) = &data.svg {
                    assert!(svg.starts_with("<svg"), "not an SVG document: {svg:.40}");
                    lines.push(format!("svg: {}", data.text.as_deref().unwrap_or("")));
                } else if let Some(text) = &data.text {
                    lines.push(text.clone());
                }
                if let Some(table) = &data.table {
                    let columns: Vec<String> = table
                        .columns
                        .iter()
                        .map(|c| format!("{}:{}", c.name, c.dtype))
                        .collect();
                    let line = format!(
                        "table: {} of {} rows; {}",
                        table.rows.len(),
                        table.total_rows,
                        columns.join(" ")
                    );
                    lines.push(line.trim_end().to_string());
                }
            }
            Output::Error(e) => {
                let at = match (e.line, e.column) {
                    (Some(line), Some(column)) => format!(" at {line}:{column}"),
                    _ => String::new(),
                };
                lines.push(format!("{}{at}: {}", e.ename, e.message));
            }
        }
    }
    for effect in &run.effects {
        lines.push(match effect {
            Effect::FetchFile { url } => format!("effect: fetch {url}"),
            Effect::Deploy {
                endpoint,
                model_name,
                artifact,
            } => {
                let model = ModelArtifact::from_json(artifact).expect("deployed artifact parses");
                format!(
                    "effect: deploy {model_name} to {endpoint}: {} on {}",
                    model.algorithm_name(),
                    model.feature_names().join(", ")
                )
            }
            Effect::SaveModel {
                model_name,
                artifact,
            } => {
                let model = ModelArtifact::from_json(artifact).expect("saved artifact parses");
                format!("effect: save {model_name}: {}", model.algorithm_name())
            }
            Effect::RecordRun { run } => {
                format!(
                    "effect: record {} run of {}",
                    run.kind.name(),
                    run.algorithm
                )
            }
        });
    }
    lines.join("\n")
}

/// Runs the steps of `script` (see the module's documentation) in one session, with
/// `/people.csv` provided, and compares the rendered runs with `expected`.
fn check(script: &str, expected: Expect) {
    check_in(Session::new(), script, expected)
}

fn check_in(mut session: Session, script: &str, expected: Expect) {
    session.provide_file("/people.csv", PEOPLE.as_bytes().to_vec());
    let mut steps: Vec<(String, Vec<&str>)> = Vec::new();
    for line in script.lines() {
        match line.strip_prefix("---") {
            Some(directive) => steps.push((directive.trim().to_string(), Vec::new())),
            None if steps.is_empty() => steps.push((String::new(), vec![line])),
            None => steps.last_mut().unwrap().1.push(line),
        }
    }
    let mut rendered = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    for (directive, lines) in steps {
        let body = lines.join("\n");
        if let Some(url) = directive.strip_prefix("provide ") {
            session.provide_file(url.trim(), format!("{body}\n").into_bytes());
            continue;
        }
        let code = match directive.strip_prefix("rerun ") {
            Some(n) => cells[n.trim().parse::<usize>().expect("rerun N") - 1].clone(),
            None if directive.is_empty() => body,
            None => panic!("unknown directive '--- {directive}'"),
        };
        cells.push(code.clone());
        let id = format!("c{}", cells.len());
        let run = session.execute(&id, &code);
        assert_eq!(run.cell_id, id);
        rendered.push(format!("[{}] {}", cells.len(), render(&run)));
    }
    expected.assert_eq(&(rendered.join("\n") + "\n"));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn variables_and_functions_persist_across_cells() {
    check(
        "let x = 40;\nfn double(n) { n * 2 }\n---\nx + 2\n---\ndouble(x)",
        expect![[r#"
            [1] status: done
            [2] status: done
            42
            [3] status: done
            80
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn rerunning_a_cell_replaces_its_variables() {
    let mut session = Session::new();
    session.execute("c1", "let a = 1; const k = 2; let b = 3;");
    for _ in 0..3 {
        session.execute("c2", "let a = a + 10; let c = 0;");
    }
    assert_eq!(session.variable_names(), ["a", "k", "b", "c"]);
    let run = session.execute("c3", "[a, k, b, c]");
    expect!["status: done\n[31, 2, 3, 0]"].assert_eq(&render(&run));
    let run = session.execute("c4", "k = 5");
    expect![[r#"
        status: failed
        RuntimeError at 1:1: Cannot modify constant k"#]]
    .assert_eq(&render(&run));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_last_expression_is_the_output() {
    check(
        r#"let df = read_csv("/people.csv");
---
df.head(2)
---
print("rows: " + df.rows()); print(df.columns()); "done"
---
[1, 2.5, true, "s", ()]
---
split(df, 0.25, 1)"#,
        expect![[r#"
            [1] status: done
            [2] status: done
            name  age  income   member
            str   int  float    bool
            Ana    34  52000.5  true
            Ben    28  31000.0  false
            [2 rows × 4 columns]
            table: 2 of 2 rows; name:str age:int income:float member:bool
            [3] status: done
            rows: 8
            ["name", "age", "income", "member"]
            done
            [4] status: done
            [1, 2.5, true, "s", ()]
            [5] status: done
            #{test: Frame(2 rows × 4 columns), train: Frame(6 rows × 4 columns)}
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn frame_operations() {
    check(
        r#"let df = read_csv("/people.csv");
---
df.filter("age", ">=", 38).select(["name", "age"])
---
df.filter("member", "==", true).rows()
---
df.filter("income", "<", 40000.0).column("name")
---
df.drop_nulls().rows()
---
df.drop_nulls(["income"]).rows()
---
df.value_counts("member")
---
df.select(["age", "income"]).describe()
---
let t = parse_csv("name,i,f,b,s\nr1,1,0.5,true,a\nr2,2,NA,false,b\nr3,,2.5,,c\n");
for c in [["i", "==", 2], ["i", "!=", 2], ["i", "<", 2.5], ["i", "<=", 2], ["i", ">", 1],
          ["i", ">=", 1], ["f", ">", 0.5], ["f", "!=", 1], ["b", "==", false],
          ["b", ">", false], ["s", "<", "b"], ["s", ">=", "b"]] {
    print(`${c[0]} ${c[1]} ${c[2]}: ${t.filter(c[0], c[1], c[2]).column("name")}`);
}"#,
        expect![[r#"
            [1] status: done
            [2] status: done
            name  age
            str   int
            Cara   45
            Eve    52
            Gus    38
            [3 rows × 2 columns]
            table: 3 of 3 rows; name:str age:int
            [3] status: done
            4
            [4] status: done
            ["Ben", "Finn"]
            [5] status: done
            7
            [6] status: done
            8
            [7] status: done
            member  count
            bool    int
            false       4
            true        4
            [2 rows × 2 columns]
            table: 2 of 2 rows; member:bool count:int
            [8] status: done
            column  dtype  count  nulls  mean        std        min      25%      50%       75%      max       distinct  top   freq
            str     str    int    int    float       float      float    float    float     float    float     int       str   int
            age     int        7      1     35.8571    10.0238     23.0     29.5      34.0     41.5      52.0         7  23       1
            income  float      8      0  54500.0938  25917.503  24000.0  38500.0  48500.25  65500.0  97000.25         8  null  null
            [2 rows × 14 columns]
            table: 2 of 2 rows; column:str dtype:str count:int nulls:int mean:float std:float min:float 25%:float 50%:float 75%:float max:float distinct:int top:str freq:int
            [9] status: done
            i == 2: ["r2"]
            i != 2: ["r1"]
            i < 2.5: ["r1", "r2"]
            i <= 2: ["r1", "r2"]
            i > 1: ["r2"]
            i >= 1: ["r1", "r2"]
            f > 0.5: ["r3"]
            f != 1: ["r1", "r3"]
            b == false: ["r2"]
            b > false: ["r1"]
            s < b: ["r1"]
            s >= b: ["r2", "r3"]
        "#]],
    );
}

/// The table output as the page receives it: JSON values, null for a missing one, at
/// most 50 rows with the total alongside.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn frames_are_sent_as_tables() {
    let mut session = Session::new();
    let run = session.execute("c1", r#"parse_csv("a,b,c\n1,x,true\nNA,y,\n3,,false\n")"#);
    let json = serde_json::to_value(&run.outputs).unwrap();
    expect![[r#"[{"data":{"application/vnd.oxbook.table+json":{"columns":[{"dtype":"int","name":"a"},{"dtype":"str","name":"b"},{"dtype":"bool","name":"c"}],"rows":[[1,"x",true],[null,"y",null],[3,null,false]],"total_rows":3},"text/plain":"a     b     c\nint   str   bool\n   1  x     true\nnull  y     null\n   3  null  false\n[3 rows × 3 columns]"},"output_type":"display_data"}]"#]]
        .assert_eq(&json.to_string());
    let run = session.execute(
        "c2",
        r#"let text = "n\n"; for i in 0..120 { text += i.to_string() + "\n" } parse_csv(text)"#,
    );
    let Output::DisplayData { data } = &run.outputs[0] else {
        panic!("{run:?}")
    };
    let table = data.table.as_ref().expect("a table");
    assert_eq!((table.rows.len(), table.total_rows), (50, 120));
    assert_eq!(table.rows[49], [serde_json::json!(49)]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn unit_values_show_nothing() {
    check(
        "let y = 1;\n---\n()",
        expect![[r#"
        [1] status: done
        [2] status: done
    "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn syntax_errors_give_line_and_column() {
    check(
        "let a = 1;\nlet b = (2 + ;\n---\nlet s = \"open",
        expect![[r#"
            [1] status: failed
            SyntaxError at 2:14: Unexpected ';'
            [2] status: failed
            SyntaxError at 1:9: Open string is not terminated
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn runtime_errors_name_the_problem_and_where() {
    check(
        r#"let df = read_csv("/people.csv");
let n = 1;
let picked = df
    .select(["name", "salary"]);
---
print("before"); df.filter("age", "~", 3)
---
df.filter("name", ">", 3)
---
logistic_regression(df, ["age"], "member")
---
fn pick(frame) { frame.column("nope") }
---
let z = 1;
pick(df)
---
undefined_variable + 1
---
fn twice(frame) {
    let first = frame.rows();
    frame.column("missing")
}
twice(df)"#,
        expect![[r#"
            [1] status: failed
            RuntimeError at 4:6: no column named 'salary' (columns: name, age, income, member)
            [2] status: failed
            before
            RuntimeError at 1:21: unknown comparison '~' (use one of == != < <= > >=)
            [3] status: failed
            RuntimeError at 1:4: column 'name' is str; it cannot be compared with the int value 3
            [4] status: failed
            RuntimeError at 1:1: column 'age' has nulls in 1 row(s); remove them first with drop_nulls
            [5] status: done
            [6] status: failed
            RuntimeError at 2:1: in function 'pick': no column named 'nope' (columns: name, age, income, member)
            [7] status: failed
            RuntimeError at 1:1: Variable not found: undefined_variable
            [8] status: failed
            RuntimeError at 3:11: in function 'twice': no column named 'missing' (columns: name, age, income, member)
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn endless_loops_and_recursion_hit_limits() {
    check(
        &format!(
            "loop {{}}\n---\nfn down(n) {{ down(n + 1) }}\ndown(0)\n---\n{}1{}",
            "(".repeat(100),
            ")".repeat(100)
        ),
        expect![[r#"
            [1] status: failed
            LimitExceeded at 1:6: the cell ran more than 100000000 operations and was stopped (an endless loop?)
            [2] status: failed
            LimitExceeded at 2:1: functions called each other more than 48 levels deep (endless recursion?)
            [3] status: failed
            LimitExceeded at 1:32: expressions are nested more than 64 levels deep
        "#]],
    );
    let small = Limits {
        max_operations: 10_000,
        max_array_size: 100,
        ..Limits::default()
    };
    check_in(
        Session::with_limits(small),
        "let x = 0; while true { x += 1 }\n---\nx > 1000\n---\nlet a = []; for i in 0..1000 { a.push(i) }",
        expect![[r#"
            [1] status: failed
            LimitExceeded at 1:30: the cell ran more than 10000 operations and was stopped (an endless loop?)
            [2] status: done
            true
            [3] status: failed
            LimitExceeded at 1:34: Size of array/BLOB is larger than the kernel allows
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn read_csv_waits_for_files_and_rolls_back() {
    // The host's loop: the cell waits, the host provides every file asked for and runs
    // the cell again; its effects on the scope happen once.
    check(
        r#"let x = 0;
---
x += 1;
print("side effect");
let a = read_csv("/a.csv");
let b = read_csv("/b.csv");
a.rows() + b.rows()
---
x
--- provide /a.csv
k,v
1,2
--- rerun 2
--- provide /b.csv
k
7
8
--- rerun 2
---
x"#,
        expect![[r#"
            [1] status: done
            [2] status: waiting
            effect: fetch /a.csv
            effect: fetch /b.csv
            [3] status: done
            0
            [4] status: waiting
            effect: fetch /b.csv
            [5] status: done
            side effect
            3
            [6] status: done
            1
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn reset_forgets_variables_functions_and_files() {
    let mut session = Session::new();
    session.provide_file("/x.csv", b"a\n1\n".to_vec());
    session.execute("c1", "let v = 1; fn f() { 2 }");
    session.reset();
    let run = session.execute("c2", "v");
    expect!["status: failed\nRuntimeError at 1:1: Variable not found: v"].assert_eq(&render(&run));
    let run = session.execute("c3", "f()");
    expect!["status: failed\nRuntimeError at 1:1: Function not found: f ()"]
        .assert_eq(&render(&run));
    let run = session.execute("c4", "read_csv(\"/x.csv\")");
    expect!["status: waiting\neffect: fetch /x.csv"].assert_eq(&render(&run));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn models_train_predict_score_and_deploy() {
    check(
        r#"let df = read_csv("/people.csv").drop_nulls();
let model = logistic_regression(df, ["age", "income"], "member", #{max_iter: 300});
model
---
model.predict(df.head(2)).select(["name", "prediction"])
---
accuracy(model, df)
---
confusion_matrix(model, df)
---
deploy(model, "members")
---
save_model(random_forest(df, ["age"], "member", #{trees: 3}), "forest")
---
random_forest(df, ["age"], "member", #{tres: 3})
---
deploy(model, "no spaces")"#,
        expect![[r#"
            [1] status: done
            logistic_regression model predicting 'member'
            task: classification
            features: age (int), income (float)
            classes: false, true
            settings: l2_penalty: 0.0, max_iter: 300
            metrics: train_accuracy: 1.0
            effect: record fit run of logistic_regression
            [2] status: done
            name  prediction
            str   bool
            Ana   true
            Ben   false
            [2 rows × 2 columns]
            table: 2 of 2 rows; name:str prediction:bool
            [3] status: done
            1.0
            [4] status: done
            actual \ predicted  false  true
            bool                int    int
            false                   3     0
            true                    0     4
            [2 rows × 3 columns]
            table: 2 of 2 rows; actual \ predicted:bool false:int true:int
            [5] status: done
            deploying model 'members'…
            effect: deploy members to members: logistic_regression on age, income
            [6] status: done
            saving model 'forest'…
            effect: record fit run of random_forest
            effect: save forest: random_forest
            [7] status: failed
            RuntimeError at 1:1: setting 'tres': unknown field `tres`, expected one of `trees`, `max_depth`, `min_samples_split`, `features_per_split`, `seed`
            [8] status: failed
            RuntimeError at 1:1: 'no spaces' is not a valid model name: use 1 to 64 characters of lowercase letters, digits, '-' or '_'
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn plots_are_svg_documents() {
    check(
        r#"let df = read_csv("/people.csv");
---
histogram(df, "age")
---
histogram(df, "income", 3)
---
scatter(df, "age", "income", "member")
---
histogram(df, "name")
---
histogram(df, "age", 0)
---
histogram(parse_csv("v\n1e999\n2\nNA\n"), "v")
---
histogram(parse_csv("v\n-1e308\n1e308\n"), "v")
---
scatter(parse_csv("x,y\n1,NA\n"), "x", "y")
---
parse_csv("a\n1\n").select([])"#,
        expect![[r#"
            [1] status: done
            [2] status: done
            svg: histogram of age
            [3] status: done
            svg: histogram of income
            [4] status: done
            svg: scatter plot of income vs age by member
            [5] status: failed
            RuntimeError at 1:1: column 'name' is str; plots need an int or float column
            [6] status: failed
            RuntimeError at 1:1: bins must be between 1 and 1000, not 0
            [7] status: done
            svg: histogram of v
            [8] status: failed
            RuntimeError at 1:1: the values of column 'v' span too wide a range to plot
            [9] status: failed
            RuntimeError at 1:1: no row has values in both 'x' and 'y'
            [10] status: done
            [1 row × 0 columns]
            table: 1 of 1 rows;
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn plots_are_deterministic_and_labelled() {
    let mut session = Session::new();
    session.provide_file("/people.csv", PEOPLE.as_bytes().to_vec());
    let svg = |session: &mut Session, code: &str| match &session.execute("c", code).outputs[..] {
        [Output::DisplayData { data }] => data.svg.clone().expect("an SVG"),
        other => panic!("expected one SVG output, got {other:?}"),
    };
    let code = r#"scatter(read_csv("/people.csv"), "age", "income", "member")"#;
    let first = svg(&mut session, code);
    assert_eq!(first, svg(&mut session, code));
    // Axis names, tick labels and the legend are text the browser renders.
    for text in [
        "age",
        "income",
        "false",
        "true",
        "30",
        "income vs age by member",
    ] {
        let element = format!(">\n{text}\n</text>");
        assert!(
            first.contains(&element),
            "no text '{text}' in the scatter plot"
        );
    }
}

/// Each bad input and the error it gives, naming the line (and column where known).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_errors_name_the_line() {
    let cases: [&[u8]; 7] = [
        b"",
        b"\xEF\xBB\xBF",
        b"a,b\n1,2\n3\n",
        b"a,b\r\n1,2\r\n3,4,5\r\n",
        b"a,b\n1,2\n3,\xFF\n",
        b"a,\xC3\n",
        b"id,name,id\n1,x,2\n",
    ];
    let actual: Vec<String> = cases
        .iter()
        .map(|bytes| match parse_csv(bytes) {
            Ok(frame) => format!("ok: {} rows", frame.row_count()),
            Err(e) => e.to_string(),
        })
        .collect();
    expect![[r#"
        the CSV is empty: expected a header row
        the CSV is empty: expected a header row
        line 3: expected 2 fields (as in the header), found 1
        line 3: expected 2 fields (as in the header), found 3
        line 3, column 2 ('b'): the text is not valid UTF-8
        line 1, column 2: the text is not valid UTF-8
        line 1: duplicate column name 'id' (columns 1 and 3)"#]]
    .assert_eq(&actual.join("\n"));
    // Through a cell, with the URL in front.
    check(
        "--- provide /bad.csv\nx,y\n1\n---\nread_csv(\"/bad.csv\")\n---\nparse_csv(\"\")",
        expect![[r#"
            [1] status: failed
            RuntimeError at 1:1: /bad.csv: line 2: expected 2 fields (as in the header), found 1
            [2] status: failed
            RuntimeError at 1:1: the CSV is empty: expected a header row
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_type_inference() {
    let frame = parse_csv(
        b"\xEF\xBB\xBFi, f ,b,s,n,mixed\r\n1,1.5,TRUE,x,NA,1\r\n-2,2e3,false,\"y, z\",N/A,2.5\r\n,NaN,,,null,\r\n",
    )
    .unwrap();
    expect![[r#"
        i     f       b      s     n      mixed
        int   float   bool   str   float  float
           1     1.5  true   x      null    1.0
          -2  2000.0  false  y, z   null    2.5
        null    null  null   null   null   null
        [3 rows × 6 columns]"#]]
    .assert_eq(&frame.to_text(10));
}

/// Random bytes, drawn mostly from the characters CSV cares about, never make the
/// parser panic, and whatever it accepts is a well-formed frame.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn parse_csv_never_panics_on_random_bytes() {
    const ALPHABET: &[u8] = b",,,\"\"\n\n\r 01239.-+eEaNtrufls\xEF\xBB\xBF\xFF\xC3\x80";
    // xorshift64*: a fixed seed gives the same cases on every platform.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..3000 {
        let len = (next() % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 10 == 0 {
                    (r >> 8) as u8
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                }
            })
            .collect();
        match parse_csv(&bytes) {
            Ok(frame) => {
                accepted += 1;
                for column in frame.columns() {
                    assert_eq!(column.data.len(), frame.row_count(), "input {bytes:?}");
                }
                frame.describe();
                frame.to_text(5);
            }
            Err(e) => {
                rejected += 1;
                assert!(
                    e.to_string().starts_with("line ") || e.to_string().contains("empty"),
                    "{e}"
                );
            }
        }
    }
    // Both paths were exercised, so the property says something.
    assert!(
        accepted > 100 && rejected > 100,
        "accepted {accepted}, rejected {rejected}"
    );
}

/// Cells do no I/O: natively Rhai would read `import "path"` from the file system.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn cells_cannot_import_files() {
    let dir = std::env::temp_dir().join(format!("oxbook-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret.rhai"), "export const leak = 42;").unwrap();
    let path = dir.join("secret");
    let mut session = Session::new();
    let run = session.execute(
        "c1",
        &format!("import {:?} as s; s::leak", path.display().to_string()),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let error = run.outputs.iter().find_map(|o| match o {
        Output::Error(e) => Some(e.message.clone()),
        _ => None,
    });
    assert!(
        error.is_some_and(|e| e.contains("secret")),
        "{:?}",
        run.outputs
    );
}
