//! Exploring, cleaning and transforming frames from cells, and the preprocessing recipe
//! that models carry: cell source in, the cell's outputs out, through one `check` helper
//! as in `cells.rs`. Snapshots update with `UPDATE_EXPECT=1 cargo test --test transforms`.
//!
//! Steps of a script are separated by `---` lines; every cell runs in one session with
//! `/shop.csv` provided. In the browser these run in a dedicated worker, as the kernel
//! does in production (the plots must not reach for a DOM there).

use expect_test::{expect, Expect};
use oxbook_kernel::recipe::{Recipe, Step};
use oxbook_kernel::{ModelArtifact, Session};
use oxbook_protocol::{CellRun, CellStatus, Effect, Output};
use serde_json::{json, Value};

mod common;
use common::bits;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const SHOP: &str = "\
name,age,income,city,member,joined
Ana,34,52000.5,Oslo,true,2021-03-04
Ben,28,31000,Rome,false,2022-11-20
Cara,45,88000,Oslo,true,2019-06-30T14:00
Dan,NA,41000,Lima,false,2023-01-15
Eve,52,97000.25,Rome,true,2020-02-29
Finn,23,24000,Lima,false,
Gus,38,,Oslo,false,2021-08-01
Hana,31,58000,Rome,true,2022-05-05
Ivo,60,250000,Oslo,true,2018-12-31
Jo,26,29000,Lima,false,2024-07-07
Ben,28,31000,Rome,false,2022-11-20
";

/// One run of a cell as text: status, then each output on its own lines (a frame as its
/// text form, an SVG as `svg: <title>`), then effects.
fn render(run: &CellRun) -> String {
    let status = serde_json::to_value(run.status).unwrap();
    let mut lines = vec![format!("status: {}", status.as_str().unwrap())];
    for output in &run.outputs {
        match output {
            Output::DisplayData { data } => {
                if let Some(svg) = &data.svg {
                    assert!(
                        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                        "not an SVG document: {svg:.40}"
                    );
                    lines.push(format!("svg: {}", data.text.as_deref().unwrap_or("")));
                } else if let Some(text) = &data.text {
                    lines.push(text.clone());
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
        if let Effect::Deploy { endpoint, .. } = effect {
            lines.push(format!("effect: deploy to {endpoint}"));
        }
    }
    lines.join("\n")
}

fn session() -> Session {
    let mut session = Session::new();
    session.provide_file("/shop.csv", SHOP.as_bytes().to_vec());
    session
}

/// Runs the cells of `script` (separated by `---` lines) in one session and compares the
/// rendered runs with `expected`.
fn check(script: &str, expected: Expect) {
    let mut session = session();
    let mut rendered = Vec::new();
    for (i, code) in script.split("\n---\n").enumerate() {
        let run = session.execute(&format!("c{}", i + 1), code);
        rendered.push(format!("[{}] {}", i + 1, render(&run)));
    }
    expected.assert_eq(&(rendered.join("\n") + "\n"));
}

/// The value of a cell as JSON rows of its table output.
fn table_rows(session: &mut Session, code: &str) -> Vec<Vec<Value>> {
    let run = session.execute("t", code);
    assert_eq!(run.status, CellStatus::Done, "{}", render(&run));
    run.outputs
        .iter()
        .find_map(|o| match o {
            Output::DisplayData { data } => data.table.as_ref().map(|t| t.rows.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no table in {}", render(&run)))
}

/// The artifact a cell deploys.
fn deployed(session: &mut Session, code: &str) -> ModelArtifact {
    let run = session.execute("d", code);
    assert_eq!(run.status, CellStatus::Done, "{}", render(&run));
    match run.effects.as_slice() {
        [Effect::Deploy { artifact, .. }] => ModelArtifact::from_json(artifact).unwrap(),
        other => panic!("expected a deploy, got {other:?}"),
    }
}

fn records(rows: Value) -> Vec<serde_json::Map<String, Value>> {
    serde_json::from_value(rows).unwrap()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn filter_and_derive_by_expression() {
    check(
        r#"let df = read_csv("/shop.csv");
df.filter("age > 30 && city == 'Oslo'").select(["name", "age", "city"])
---
df.filter("is_null(age) || is_null(income)").column("name")
---
df.filter("contains(lower(name), 'a') && !member").column("name")
---
df.filter("joined >= '2022-01-01'").column("name")
---
df.derive("per_year", "round(income / age, 1)")
  .derive("label", "upper(city) + '-' + str(age)")
  .derive("band", "if(age >= 40, 'senior', 'junior')")
  .select(["name", "per_year", "label", "band"]).head(4)
---
df.derive("year", "year(joined)").derive("wd", "weekday(joined)")
  .derive("month", "month(joined)").derive("hour", "hour(joined)")
  .select(["joined", "year", "month", "wd", "hour"]).head(3)
---
df.filter("age > ")
---
df.filter("agee > 3")
---
df.derive("x", "income + city")
---
df.filter("age + 1")"#,
        expect![[r#"
            [1] status: done
            name  age  city
            str   int  str
            Ana    34  Oslo
            Cara   45  Oslo
            Gus    38  Oslo
            Ivo    60  Oslo
            [4 rows × 3 columns]
            [2] status: done
            ["Dan", "Gus"]
            [3] status: done
            ["Dan"]
            [4] status: done
            ["Ben", "Dan", "Hana", "Jo", "Ben"]
            [5] status: done
            name  per_year  label    band
            str   float     str      str
            Ana     1529.4  OSLO-34  junior
            Ben     1107.1  ROME-28  junior
            Cara    1955.6  OSLO-45  senior
            Dan       null  null     junior
            [4 rows × 4 columns]
            [6] status: done
            joined               year  month  wd   hour
            datetime             int   int    int  int
            2021-03-04           2021      3    3     0
            2022-11-20           2022     11    6     0
            2019-06-30T14:00:00  2019      6    6    14
            [3 rows × 5 columns]
            [7] status: failed
            RuntimeError at 1:4: in `age > ` at character 7: expected a value, found the end
            [8] status: failed
            RuntimeError at 1:4: in `agee > 3` at character 1: no column named 'agee' (columns: name, age, income, city, member, joined)
            [9] status: failed
            RuntimeError at 1:4: in `income + city` at character 8: '+' joins strings with strings (convert with str(x)), not column 'income' (float) and column 'city' (str)
            [10] status: failed
            RuntimeError at 1:4: in `age + 1` at character 5: a condition must be true or false, but this is an int value
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn missing_values() {
    check(
        r#"let df = read_csv("/shop.csv");
[df.drop_nulls().rows(), df.drop_nulls(["age"]).rows()]
---
df.drop_columns_with_nulls().columns()
---
df.drop_columns_with_nulls(0.1).columns()
---
df.fill_nulls("age", "mean").column("age")
---
df.fill_nulls("income", "median").select(["name", "income"]).filter("name == 'Gus'")
---
df.fill_nulls("city", "mode").fill_nulls("age", 0).column("age")
---
df.fill_nulls("joined", "ffill").column("joined").extract(4, 3)
---
df.fill_nulls("joined", "2000-01-01").column("joined")[5]
---
df.fill_nulls("name", 3)
---
df.fill_nulls("city", "mean")
---
let cleaned = df.fill_nulls("age", "median");
recipe(cleaned)"#,
        expect![[r#"
            [1] status: done
            [8, 10]
            [2] status: done
            ["name", "city", "member"]
            drop_columns_with_nulls: dropped age, income, joined
            [3] status: done
            ["name", "age", "income", "city", "member", "joined"]
            [4] status: done
            [34.0, 28.0, 45.0, 36.5, 52.0, 23.0, 38.0, 31.0, 60.0, 26.0, 28.0]
            fill_nulls: filled 1 null in 'age' with the mean 36.5
            [5] status: done
            name  income
            str   float
            Gus   46500.25
            [1 row × 2 columns]
            fill_nulls: filled 1 null in 'income' with the median 46500.25
            [6] status: done
            [34, 28, 45, 0, 52, 23, 38, 31, 60, 26, 28]
            fill_nulls: filled 0 nulls in 'city' with the mode "Oslo"
            fill_nulls: filled 1 null in 'age' with 0
            [7] status: done
            ["2020-02-29", "2020-02-29", "2021-08-01"]
            fill_nulls: filled 1 null in 'joined' from the row before
            [8] status: done
            2000-01-01
            fill_nulls: filled 1 null in 'joined' with 2000-01-01
            [9] status: failed
            RuntimeError at 1:4: column 'name' is str; fill_nulls needs a value of that type, not 3
            [10] status: failed
            RuntimeError at 1:4: column 'city' is str; filling with the mean needs an int or float column
            [11] status: done
            1. fill_nulls age with 32.5
            fill_nulls: filled 1 null in 'age' with the median 32.5
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn outliers_are_removed_or_clipped_and_counted() {
    check(
        r#"let df = read_csv("/shop.csv");
df.remove_outliers("income", "iqr").rows()
---
df.remove_outliers("income", "zscore", 2).column("name")
---
df.clip_outliers("income", "iqr", 1.5).filter("name == 'Ivo'").column("income")
---
df.clip_outliers("age", "zscore", 1).column("age")
---
df.remove_outliers("city", "iqr")
---
df.remove_outliers("income", "mad")
---
df.clip_outliers("income", "iqr", 0)"#,
        expect![[r#"
            [1] status: done
            10
            remove_outliers: removed 1 of 11 rows ('income' outside [-43250.0, 154750.0] by iqr, k = 1.5)
            [2] status: done
            ["Ana", "Ben", "Cara", "Dan", "Eve", "Finn", "Gus", "Hana", "Jo", "Ben"]
            remove_outliers: removed 1 of 11 rows ('income' outside [-65875.242, 206075.392] by zscore, k = 2.0)
            [3] status: done
            [154750.0]
            clip_outliers: clipped 1 value of 'income' to [-43250.0, 154750.0] (iqr, k = 1.5)
            [4] status: done
            [34, 28, 45, (), 48, 25, 38, 31, 48, 26, 28]
            clip_outliers: clipped 3 values of 'age' to [24.2957, 48.7043] (zscore, k = 1.0)
            [5] status: failed
            RuntimeError at 1:4: column 'city' is str; outlier detection needs an int or float column
            [6] status: failed
            RuntimeError at 1:4: unknown outlier method 'mad' (use zscore or iqr)
            [7] status: failed
            RuntimeError at 1:4: k must be a number above 0, not 0
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn rows_sort_dedupe_sample_tail() {
    check(
        r#"let df = read_csv("/shop.csv");
df.sort("age").column("name")
---
df.sort(["city", "income"], true).select(["city", "income"])
---
[df.dedupe().rows(), df.dedupe(["city"]).column("name"), df.dedupe("member").rows()]
---
df.sample(3, 7).column("name")
---
df.sample(3, 7).column("name") == df.sample(3, 7).column("name")
---
df.tail(2).column("name")
---
df.sort([])
---
df.sort("nope")"#,
        expect![[r#"
            [1] status: done
            ["Finn", "Jo", "Ben", "Ben", "Hana", "Ana", "Gus", "Cara", "Eve", "Ivo", "Dan"]
            [2] status: done
            city  income
            str   float
            Rome  97000.25
            Rome   58000.0
            Rome   31000.0
            Rome   31000.0
            Oslo  250000.0
            Oslo   88000.0
            Oslo   52000.5
            Oslo      null
            Lima   41000.0
            Lima   29000.0
            …
            [11 rows × 2 columns]
            [3] status: done
            [10, ["Ana", "Ben", "Dan"], 2]
            [4] status: done
            ["Hana", "Ivo", "Ben"]
            [5] status: done
            true
            [6] status: done
            ["Jo", "Ben"]
            [7] status: failed
            RuntimeError at 1:4: sort needs at least one column
            [8] status: failed
            RuntimeError at 1:4: no column named 'nope' (columns: name, age, income, city, member, joined)
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn column_operations() {
    check(
        r#"let df = read_csv("/shop.csv");
df.drop(["joined", "member"]).drop("income").columns()
---
df.rename(#{name: "customer", city: "town"}).columns()
---
df.rename(#{name: "age"})
---
df.cast("age", "float").cast("member", "int").cast("income", "str").select(["age", "member", "income"]).head(2)
---
parse_csv("code\n12\nx7\n003\n").cast("code", "int").column("code")
---
df.cast("joined", "str").cast("joined", "datetime").column("joined")[2]
---
df.cast("age", "decimal")
---
df.derive("age", "age * 12").column("age").extract(0, 2)"#,
        expect![[r#"
            [1] status: done
            ["name", "age", "city"]
            [2] status: done
            ["customer", "age", "income", "town", "member", "joined"]
            [3] status: failed
            RuntimeError at 1:4: rename would make a column 'age', but the frame has one already
            [4] status: done
            age    member  income
            float  int     str
             34.0       1  52000.5
             28.0       0  31000.0
            [2 rows × 3 columns]
            [5] status: done
            [12, (), 3]
            parse_csv: column 'code': 1 value is not int ('x7' at line 3); kept as str (a type override #{code: "int"} reads them as nulls)
            cast: 1 value of 'code' could not be read as int and became null (the first: "x7" in row 1)
            [6] status: done
            2019-06-30T14:00:00
            [7] status: failed
            RuntimeError at 1:4: unknown type 'decimal' (use int, float, bool, str or datetime)
            [8] status: done
            [408, 336]
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn group_by_and_join() {
    check(
        r#"let df = read_csv("/shop.csv");
df.group_by("city", #{n: "count()", total: "sum(income)", avg_age: "mean(age)", ages: "count(age)"})
---
df.group_by(["city", "member"], #{oldest: "max(age)", first: "min(name)", spread: "std(income / 1000)", mid: "median(age)", kinds: "n_unique(age)"})
---
df.group_by("city", #{x: "total(income)"})
---
df.group_by("city", #{x: "sum(city)"})
---
df.group_by("city", #{x: "sum(incme)"})
---
let cities = parse_csv("city,country\nOslo,Norway\nRome,Italy\nParis,France\n");
df.join(cities, "city").select(["name", "city", "country"]).head(4)
---
df.join(cities, ["city"], "left").filter("is_null(country)").column("name")
---
cities.join(df, "city", "left").group_by("country", #{n: "count(name)"})
---
df.join(cities, "city", "outer")"#,
        expect![[r#"
            [1] status: done
            city  ages  avg_age  n    total
            str   int   float    int  float
            Lima     2     24.5    3    94000.0
            Oslo     4    44.25    4   390000.5
            Rome     4    34.75    4  217000.25
            [3 rows × 5 columns]
            [2] status: done
            city  member  first  kinds  mid    oldest  spread
            str   bool    str    int    float  int     float
            Lima  false   Dan        2   24.5      26    8.7369
            Oslo  false   Gus        1   38.0      38      null
            Oslo  true    Ana        3   45.0      60  105.4702
            Rome  false   Ben        1   28.0      28       0.0
            Rome  true    Eve        2   41.5      52   27.5773
            [5 rows × 7 columns]
            [3] status: failed
            RuntimeError at 1:4: in `total(income)` at character 1: unknown aggregate 'total' (use count, sum, mean, min, max, median, std, n_unique)
            [4] status: failed
            RuntimeError at 1:4: aggregate 'x': sum(city) needs numbers, but city is str
            [5] status: failed
            RuntimeError at 1:4: in `incme` at character 1: no column named 'incme' (columns: name, age, income, city, member, joined)
            [6] status: done
            name  city  country
            str   str   str
            Ana   Oslo  Norway
            Ben   Rome  Italy
            Cara  Oslo  Norway
            Eve   Rome  Italy
            [4 rows × 3 columns]
            [7] status: done
            ["Dan", "Finn", "Jo"]
            [8] status: done
            country  n
            str      int
            France     0
            Italy      4
            Norway     4
            [3 rows × 2 columns]
            [9] status: failed
            RuntimeError at 1:4: unknown join 'outer' (use inner or left)
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn feature_transforms() {
    check(
        r#"let df = read_csv("/shop.csv").head(5);
df.one_hot("city").select(["name", "city_Lima", "city_Oslo", "city_Rome"])
---
df.ordinal_encode("city").column("city")
---
df.ordinal_encode("city", ["Rome", "Oslo"]).column("city")
---
df.standard_scale(["age", "income"]).select(["age", "income"])
---
df.min_max_scale("income").column("income")
---
df.log_transform("income").column("income")
---
df.bin("age", [20, 30, 40, 50]).column("age")
---
df.bin("age", 2).column("age")
---
recipe(df.one_hot("city").standard_scale("age").bin("income", 3))
---
df.one_hot("name").one_hot("member").columns()
---
df.standard_scale("city")"#,
        expect![[r#"
            [1] status: done
            name  city_Lima  city_Oslo  city_Rome
            str   int        int        int
            Ana           0          1          0
            Ben           0          0          1
            Cara          0          1          0
            Dan           1          0          0
            Eve           0          0          1
            [5 rows × 4 columns]
            [2] status: done
            [1, 2, 1, 0, 2]
            [3] status: done
            [1, 0, 1, -1, 0]
            ordinal_encode: 1 value of 'city' not in the order became -1
            [4] status: done
            age      income
            float    float
            -0.6158  -0.3756
            -1.2584  -1.1806
             0.5623   1.0043
               null  -0.7973
             1.3119   1.3493
            [5 rows × 2 columns]
            [5] status: done
            [0.3181881886811035, 0.0, 0.8636330922988928, 0.151514577596297, 1.0]
            [6] status: done
            [10.859027843301368, 10.34177474101152, 11.385103457032141, 10.62135173563291, 11.482479144000427]
            [7] status: done
            [1, 0, 2, (), ()]
            [8] status: done
            [0, 0, 1, (), 1]
            [9] status: done
            1. one_hot city: Lima, Oslo, Rome
            2. standard_scale age: mean 39.75, std 9.3374
            3. bin income: edges 31000.0, 53000.0833, 75000.1667, 97000.25 (open ends)
            [10] status: done
            ["name_Ana", "name_Ben", "name_Cara", "name_Dan", "name_Eve", "age", "income", "city", "member_false", "member_true", "joined"]
            [11] status: failed
            RuntimeError at 1:4: column 'city' is str; standard_scale needs numbers
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn stratified_split_keeps_class_balance() {
    check(
        r#"let df = read_csv("/shop.csv");
let parts = split(df, 0.4, 3, "member");
[parts.test.value_counts("member").column("count"), parts.train.value_counts("member").column("count")]
---
parts.test.column("name")
---
split(df, 0.4, 3, "member").test.column("name") == parts.test.column("name")
---
split(df, 0.4, 3, "nope")"#,
        expect![[r#"
            [1] status: done
            [[2, 2], [4, 3]]
            [2] status: done
            ["Dan", "Eve", "Hana", "Jo"]
            [3] status: done
            true
            [4] status: failed
            RuntimeError at 1:1: no column named 'nope' (columns: name, age, income, city, member, joined)
        "#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn exploring() {
    check(
        r#"let df = read_csv("/shop.csv");
df.describe()
---
df.corr()
---
corr_heatmap(df)
---
box_plot(df, ["age", "income"])
---
box_plot(df, "city")
---
df.quality_report("member")
---
df.derive("twice", "age").derive("one", "1").quality_report()"#,
        expect![[r#"
            [1] status: done
            column  dtype     count  nulls  mean       std         min      25%      50%       75%      max       distinct  top         freq
            str     str       int    int    float      float       float    float    float     float    float     int       str         int
            name    str          11      0       null        null     null     null      null     null      null        10  Ben            2
            age     int          10      1       36.5     12.2043     23.0     28.0      32.5    43.25      60.0         9  28             2
            income  float        10      1  70100.075  67987.6585  24000.0  31000.0  46500.25  80500.0  250000.0         9  null        null
            city    str          11      0       null        null     null     null      null     null      null         3  Oslo           4
            member  bool         11      0       null        null     null     null      null     null      null         2  false          6
            joined  datetime     10      1       null        null     null     null      null     null      null         9  2022-11-20     2
            [6 rows × 14 columns]
            [2] status: done
            column  age     income  member
            str     float   float   float
            age        1.0  0.8992  0.6823
            income  0.8992     1.0  0.6031
            member  0.6823  0.6031     1.0
            [3 rows × 4 columns]
            [3] status: done
            svg: correlation heatmap
            [4] status: done
            svg: box plot of age, income
            [5] status: failed
            RuntimeError at 1:1: column 'city' is str; plots need an int or float column
            [6] status: done
            column  dtype     nulls  null_share  distinct  outliers  issues
            str     str       int    float       int       int       str
            name    str           0         0.0        10      null
            age     int           1      0.0909         9         0  nulls
            income  float         1      0.0909         9         1  nulls, outliers
            city    str           0         0.0         3      null
            member  bool          0         0.0         2      null
            joined  datetime      1      0.0909         9      null  nulls
            [6 rows × 7 columns]
            quality report: 11 rows × 6 columns
            nulls: age (9.1%), income (9.1%), joined (9.1%)
            outliers (beyond 1.5 × IQR): income (1)
            constant columns: none
            duplicate columns: none
            duplicate rows: 1
            classes of member: false 6 (54.5%), true 5 (45.5%)
            [7] status: done
            column  dtype     nulls  null_share  distinct  outliers  issues
            str     str       int    float       int       int       str
            name    str           0         0.0        10      null
            age     int           1      0.0909         9         0  nulls
            income  float         1      0.0909         9         1  nulls, outliers
            city    str           0         0.0         3      null
            member  bool          0         0.0         2      null
            joined  datetime      1      0.0909         9      null  nulls
            twice   int           1      0.0909         9         0  nulls, same as age
            one     int           0         0.0         1         0  constant
            [8 rows × 7 columns]
            quality report: 11 rows × 8 columns
            nulls: age (9.1%), income (9.1%), joined (9.1%), twice (9.1%)
            outliers (beyond 1.5 × IQR): income (1)
            constant columns: one
            duplicate columns: twice = age
            duplicate rows: 1
        "#]],
    );
}

/// The cells of the recipe tests: a model fitted on derived, one-hot and scaled features.
const PREPARE: &str = r#"let raw = read_csv("/shop.csv").drop_nulls(["age", "income"]).dedupe().drop("joined");
let prepared = raw
    .derive("per_year", "income / age")
    .one_hot("city")
    .standard_scale(["age", "income", "per_year"]);
let features = ["age", "income", "per_year", "city_Lima", "city_Oslo", "city_Rome"];
let model = logistic_regression(prepared, features, "member", #{l2_penalty: 0.1});"#;

/// The `p_false`, `p_true` columns of a predicted frame's table.
fn notebook_probabilities(session: &mut Session, code: &str) -> Vec<Vec<f64>> {
    table_rows(session, code)
        .into_iter()
        .map(|row| row.iter().map(|v| v.as_f64().unwrap()).collect())
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn raw_rows_get_the_notebook_predictions() {
    let mut session = session();
    let run = session.execute("prepare", PREPARE);
    assert_eq!(run.status, CellStatus::Done, "{}", render(&run));
    let notebook = notebook_probabilities(
        &mut session,
        r#"model.predict(prepared).select(["p_false", "p_true"])"#,
    );
    assert_eq!(notebook.len(), 8);
    // Not a constant model: the comparison below means something.
    assert!(notebook.iter().any(|p| p[1] > 0.5) && notebook.iter().any(|p| p[1] < 0.5));

    // The raw rows, as an endpoint receives them: JSON records of the loaded columns.
    let run = session.execute("raw", "raw");
    let table = match &run.outputs[0] {
        Output::DisplayData { data } => data.table.clone().unwrap(),
        other => panic!("{other:?}"),
    };
    let rows: Vec<serde_json::Map<String, Value>> = table
        .rows
        .iter()
        .map(|row| {
            table
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.name.clone(), v.clone()))
                .collect()
        })
        .collect();
    assert_eq!(rows[0]["city"], json!("Oslo"));

    let model = deployed(&mut session, r#"deploy(model, "members")"#);
    assert_eq!(model.input_names(), ["age", "income", "city"]);
    assert_eq!(
        model.feature_names(),
        [
            "age",
            "income",
            "per_year",
            "city_Lima",
            "city_Oslo",
            "city_Rome"
        ]
    );
    let response = model.predict_records(&rows).unwrap();
    assert_eq!(bits(&response.probabilities.unwrap()), bits(&notebook));
    // Predicting on the raw frame in the notebook replays the recipe too.
    let replayed = notebook_probabilities(
        &mut session,
        r#"model.predict(raw).select(["p_false", "p_true"])"#,
    );
    assert_eq!(bits(&replayed), bits(&notebook));
    // ... and the artifact read back from JSON predicts the same.
    let reread = ModelArtifact::from_json(&model.to_json()).unwrap();
    assert_eq!(reread, model);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn an_unknown_or_missing_category_is_all_zeros() {
    let mut session = session();
    session.execute("prepare", PREPARE);
    let model = deployed(&mut session, r#"deploy(model, "members")"#);
    let expected = notebook_probabilities(
        &mut session,
        r#"let zeroed = prepared.head(1).derive("city_Lima", "0").derive("city_Oslo", "0").derive("city_Rome", "0");
           model.predict(zeroed).select(["p_false", "p_true"])"#,
    );
    // Ana's row with a city the model never saw, and with no city at all.
    let rows = records(json!([
        {"name": "Ana", "age": 34, "income": 52000.5, "city": "Paris", "member": true},
        {"age": 34, "income": 52000.5, "city": null},
    ]));
    let response = model.predict_records(&rows).unwrap();
    let probabilities = response.probabilities.unwrap();
    assert_eq!(bits(&probabilities[..1]), bits(&expected));
    assert_eq!(probabilities[1], probabilities[0]);

    // Raw values are still checked: the row and column are named.
    let wrong = records(json!([{"age": "old", "income": 1.0, "city": "Oslo"}]));
    assert_eq!(
        model.predict_records(&wrong).unwrap_err().to_string(),
        "row 0: 'age' should be int, got the string \"old\""
    );
    let missing = records(json!([{"age": 30, "income": 1.0}]));
    assert_eq!(
        model.predict_records(&missing).unwrap_err().to_string(),
        "row 0: missing feature 'city'"
    );
    let null = records(json!([{"age": 30, "income": null, "city": "Oslo"}]));
    assert_eq!(
        model.predict_records(&null).unwrap_err().to_string(),
        "row 0: 'income' is null; the model needs a value"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_recipe_round_trips_through_json() {
    let mut session = session();
    session.execute("prepare", PREPARE);
    let model = deployed(&mut session, r#"deploy(model, "members")"#);
    let json: Value = serde_json::from_str(&model.to_json()).unwrap();
    expect![[r#"
        [
          {
            "expr": "income / age",
            "name": "per_year",
            "step": "derive"
          },
          {
            "categories": [
              "Lima",
              "Oslo",
              "Rome"
            ],
            "column": "city",
            "step": "one_hot"
          },
          {
            "column": "age",
            "mean": 37.375,
            "std": 12.549277867670314,
            "step": "standard_scale"
          },
          {
            "column": "income",
            "mean": 78625.09375,
            "std": 69501.67045001705,
            "step": "standard_scale"
          },
          {
            "column": "per_year",
            "mean": 1831.7514489024877,
            "std": 950.0552631832343,
            "step": "standard_scale"
          }
        ]
        [{"dtype":"int","name":"age"},{"dtype":"float","name":"income"},{"dtype":"str","name":"city"}]
    "#]]
    .assert_eq(&format!(
        "{}\n{}\n",
        serde_json::to_string_pretty(&json["recipe"]["steps"]).unwrap(),
        json["input_features"]
    ));
    let recipe: Recipe = serde_json::from_value(json["recipe"].clone()).unwrap();
    assert_eq!(recipe, model.recipe);
    assert_eq!(
        serde_json::from_str::<Recipe>(&serde_json::to_string(&recipe).unwrap()).unwrap(),
        recipe
    );
    // Every kind of step survives the trip.
    let every = Recipe {
        dataset: None,
        source: vec![],
        steps: vec![
            Step::FillNulls {
                column: "a".into(),
                value: oxbook_kernel::expr::Lit::Float(0.1 + 0.2),
            },
            Step::Clip {
                column: "a".into(),
                lower: -1.5,
                upper: 2.0,
            },
            Step::Ordinal {
                column: "c".into(),
                categories: vec!["x".into(), "y".into()],
            },
            Step::MinMaxScale {
                column: "a".into(),
                min: 0.0,
                max: 3.0,
            },
            Step::Log { column: "a".into() },
            Step::Bin {
                column: "a".into(),
                edges: vec![0.0, 1.0],
                open_ends: true,
            },
            Step::Cast {
                column: "d".into(),
                to: oxbook_kernel::DType::Datetime,
            },
            Step::Rename {
                from: "d".into(),
                to: "e".into(),
            },
        ],
    };
    let text = serde_json::to_string(&every).unwrap();
    assert_eq!(serde_json::from_str::<Recipe>(&text).unwrap(), every);
    assert!(every.validate().is_ok());
    // Artifacts from before recipes have neither field and read as models of raw columns.
    let mut old = json.clone();
    let object = old.as_object_mut().unwrap();
    object.remove("recipe");
    object.remove("input_features");
    let legacy = ModelArtifact::from_json(&old.to_string()).unwrap();
    assert!(legacy.recipe.is_empty());
    assert_eq!(legacy.input_names(), legacy.feature_names());
    // A hand-edited recipe that cannot run is refused when read.
    let mut broken = json.clone();
    broken["recipe"]["steps"][0]["expr"] = json!("income / ");
    let err = ModelArtifact::from_json(&broken.to_string()).unwrap_err();
    assert!(err.to_string().contains("recipe: step 1"), "{err}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn split_first_then_prepare_the_training_rows() {
    // Fitting the scaler on the training rows only; the raw test rows get the training
    // rows' parameters when predicted.
    let mut session = session();
    let run = session.execute(
        "c1",
        r#"let df = read_csv("/shop.csv").drop_nulls(["age", "income"]).dedupe();
let parts = split(df, 0.3, 5, "member");
let train = parts.train.one_hot("city").min_max_scale(["age", "income"]).fill_nulls("member", false);
let model = random_forest(train, ["age", "income", "city_Oslo", "city_Rome"], "member", #{trees: 15, seed: 2});"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{}", render(&run));
    let notebook = notebook_probabilities(
        &mut session,
        r#"model.predict(parts.test).select(["p_false", "p_true"])"#,
    );
    assert_eq!(notebook.len(), 2);
    let model = deployed(&mut session, r#"deploy(model, "m")"#);
    let test = table_rows(
        &mut session,
        r#"parts.test.select(["age", "income", "city"])"#,
    );
    let rows: Vec<serde_json::Map<String, Value>> = test
        .iter()
        .map(|r| {
            ["age", "income", "city"]
                .iter()
                .map(|c| c.to_string())
                .zip(r.iter().cloned())
                .collect()
        })
        .collect();
    let response = model.predict_records(&rows).unwrap();
    assert_eq!(bits(&response.probabilities.unwrap()), bits(&notebook));
    check(
        r#"let df = read_csv("/shop.csv").drop_nulls(["age", "income"]);
let model = logistic_regression(df.one_hot("city"), ["age", "city_Oslo"], "member");
model
---
accuracy(model, df) == accuracy(model, df.one_hot("city"))
---
recipe(model)
---
model.predict(df.standard_scale("age"))"#,
        expect![[r#"
            [1] status: done
            logistic_regression model predicting 'member'
            task: classification
            features: age (int), city_Oslo (int)
            inputs: age (int), city (str)
            recipe: 1 step (recipe(model) lists them)
            classes: false, true
            settings: l2_penalty: 0.0, max_iter: 200
            metrics: train_accuracy: 1.0
            [2] status: done
            true
            [3] status: done
            1. one_hot city: Lima, Oslo, Rome
            [4] status: failed
            RuntimeError at 1:7: this frame was prepared differently from the model's training data (its step 1 is 'standard_scale age: mean 36.3333, std 12.1929', the model's is 'one_hot city: Lima, Oslo, Rome'); predict on raw rows or rows prepared the same way
        "#]],
    );
}
