//! Document factory benchmark: documents per second on one core for every registry id of the
//! project's templates — template to HTML, HTML to PDF, and the `document2` hashes — with the
//! PDF size of each. The factory is built once, as a running instance builds it.
//!
//! With `MONO_BENCH_WEASYPRINT` naming a Python interpreter that has WeasyPrint 62.3, the same HTML is
//! also rendered by it, one warm process per registry id, and its time per document printed
//! beside ours.
//!
//! Besides the wall-clock rate it prints the rate per second the thread spent on a CPU (from
//! Linux's `/proc/thread-self/schedstat`), which is the rate per core whatever else shares the
//! machine.
//!
//! Run: `cargo bench -p mono-instance --bench render` (`MONO_BENCH_SECONDS`, default 2, is
//! the time spent per registry id).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use mono_instance::factory::Factory;
use mono_instance::factory::templates;

fn main() -> anyhow::Result<()> {
    let seconds: f64 = std::env::var("MONO_BENCH_SECONDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2.0);
    let weasyprint = std::env::var("MONO_BENCH_WEASYPRINT").ok();
    let factory = Factory::new().context("loading fonts")?;
    let drafts = templates::builtin().context("reading the built-in templates")?;
    println!(
        "registry_id\tdocs_per_s\tms_per_doc\tdocs_per_cpu_s\tpdf_bytes\tpages_html_bytes\tweasyprint_ms"
    );
    let mut total_docs = 0u64;
    let mut total_time = Duration::ZERO;
    let mut total_cpu = Some(Duration::ZERO);
    for (draft, example) in &drafts {
        let first = factory.render(draft, example).context("rendering")?;
        let cpu_started = thread_cpu_time();
        let started = Instant::now();
        let mut docs = 0u64;
        while started.elapsed().as_secs_f64() < seconds {
            let generated = factory.render(draft, example).context("rendering")?;
            std::hint::black_box(&generated.document);
            docs += 1;
        }
        let elapsed = started.elapsed();
        let cpu = thread_cpu_time()
            .zip(cpu_started)
            .map(|(now, then)| now.saturating_sub(then));
        total_docs += docs;
        total_time += elapsed;
        total_cpu = total_cpu.zip(cpu).map(|(total, cpu)| total + cpu);
        let weasy = match &weasyprint {
            Some(program) => format!("{:.1}", weasyprint_ms(program, &first.html)?),
            None => "-".to_owned(),
        };
        println!(
            "{}\t{:.0}\t{:.2}\t{}\t{}\t{}\t{}",
            draft.registry_id,
            docs as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / docs as f64,
            per_second(docs, cpu),
            first.pdf.len(),
            first.html.len(),
            weasy
        );
    }
    println!(
        "all\t{:.0}\t{:.2}\t{}",
        total_docs as f64 / total_time.as_secs_f64(),
        total_time.as_secs_f64() * 1000.0 / total_docs as f64,
        per_second(total_docs, total_cpu)
    );
    Ok(())
}

/// Time this thread has spent on a CPU, when the system tells it (Linux).
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn per_second(docs: u64, cpu: Option<Duration>) -> String {
    match cpu {
        Some(cpu) if !cpu.is_zero() => format!("{:.0}", docs as f64 / cpu.as_secs_f64()),
        _ => "-".to_owned(),
    }
}

/// Milliseconds per document of WeasyPrint on `html`, warm: one Python process renders it
/// once to warm up, then five times, timed inside the process.
fn weasyprint_ms(program: &str, html: &str) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("document.html");
    std::fs::write(&path, html)?;
    let script = format!(
        "import time, weasyprint\nh = open({path:?}).read()\nweasyprint.HTML(string=h).write_pdf()\nt = time.perf_counter()\nfor _ in range(5): weasyprint.HTML(string=h).write_pdf()\nprint((time.perf_counter() - t) / 5 * 1000)",
        path = path.display().to_string()
    );
    let output = std::process::Command::new(program)
        .args(["-c", &script])
        .output()
        .with_context(|| format!("running {program}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}
