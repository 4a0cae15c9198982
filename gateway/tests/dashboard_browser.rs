//! The dashboard in headless Chromium (Debian `chromium` and
//! `chromium-driver`, driven over WebDriver with `fantoccini`) against a
//! real gateway over a real LoRaWAN fleet: the overview's counts, a device
//! page's chart, live updates in two sessions without reloading, and the
//! buttons each role may see. Screenshots go to `target/dashboard/`.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use retrofit_protocols::Timestamp;
use support::api::{quiet_device, token, ApiRig, QUIET, QUIET_EUI};
use support::mqtt::publish_all;
use support::rig::now_ms;
use support::{fleet, free_port};

const INSTALL: &str =
    "run scripts/install-test-deps.sh (Debian packages chromium, chromium-driver)";

/// A chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let bin = support::binary("chromedriver");
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromedriver ({e}); {INSTALL}"));
        support::wait_until("chromedriver to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self { child, port }
    }

    async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": support::binary("chromium"),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1200,900"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("cannot start headless Chromium ({e}); {INSTALL}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `read` until it returns `want` (bounded).
async fn wait_text(c: &Client, css: &str, want: &str) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            last = el.text().await.unwrap_or_default();
            if last.trim() == want {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} shows {last:?}, never {want:?}");
}

async fn wait_count(c: &Client, css: &str, want: usize) {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(30) {
        n = c
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        if n == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} elements match {css}, never {want}");
}

async fn login(c: &Client, port: u16, role: &str) {
    c.goto(&format!("http://127.0.0.1:{port}/")).await.unwrap();
    let field = c.wait().for_element(Locator::Css("#token")).await.unwrap();
    field.send_keys(&token(role)).await.unwrap();
    c.find(Locator::Css("#login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "#who", &format!("角色: {role}")).await;
}

async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_site_live_to_each_role() {
    let api = tokio::task::spawn_blocking(|| {
        let api = ApiRig::start(4, &quiet_device());
        api.send_one_each(61);
        api.send_one_each(62);
        api
    })
    .await
    .unwrap();
    let driver = Driver::start();
    let (viewer, operator) = (driver.session().await, driver.session().await);
    login(&viewer, api.port, "viewer").await;
    login(&operator, api.port, "operator").await;

    // Overview: 2 parking, 3 drainage (the quiet well included), and the
    // quiet well's offline alarm once its 3 s grace has passed.
    wait_text(&viewer, r#".card[data-kind="parking"] .total"#, "2").await;
    wait_text(&viewer, r#".card[data-kind="drainage"] .total"#, "3").await;
    wait_text(&viewer, r#".card[data-kind="drainage"] .n-online"#, "2").await;
    // This month's availability per kind, from the kept history.
    let parking_availability = viewer
        .find(Locator::Css(r#".card[data-kind="parking"] .availability"#))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        parking_availability.ends_with('%'),
        "{parking_availability}"
    );
    let quiet_alarm = format!(r#"#alarm-table tr[data-alarm^="{QUIET}"]"#);
    wait_count(&viewer, &quiet_alarm, 1).await;
    wait_count(&operator, &quiet_alarm, 1).await;
    screenshot(&viewer, "overview-viewer").await;

    // Buttons by role: the viewer sees none; the operator may acknowledge
    // and mark arrival.
    wait_count(&viewer, "#alarm-table button", 0).await;
    wait_count(&operator, &format!("{quiet_alarm} button.ack"), 1).await;
    wait_count(&operator, &format!("{quiet_alarm} button.arrive"), 1).await;

    // The operator acknowledges; the viewer's page shows who, live.
    operator
        .find(Locator::Css(&format!("{quiet_alarm} button.ack")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&viewer, &format!("{quiet_alarm} td.acked-by"), "operator").await;
    screenshot(&viewer, "acknowledged-viewer").await;

    // The well reports: both sessions see its alarm clear and its status
    // turn online, live, without reloading.
    let well = fleet::FleetDevice {
        id: QUIET.into(),
        eui: QUIET_EUI.parse().unwrap(),
        parking: false,
    };
    let port = api.rig.input.port;
    tokio::task::spawn_blocking(move || {
        let ((topic, payload), _) = fleet::uplink(&well, 5, Timestamp(now_ms()), true);
        publish_all(port, vec![(topic, payload)]);
    })
    .await
    .unwrap();
    wait_count(&viewer, &quiet_alarm, 0).await;
    wait_count(&operator, &quiet_alarm, 0).await;
    wait_text(&viewer, r#".card[data-kind="drainage"] .n-online"#, "3").await;

    // A device page charts its recent readings.
    let device = api.rig.devices[1].id.clone();
    viewer
        .goto(&format!("http://127.0.0.1:{}/#/device/{device}", api.port))
        .await
        .unwrap();
    let chart = viewer
        .wait()
        .for_element(Locator::Css("svg.chart"))
        .await
        .unwrap();
    assert_eq!(
        chart.attr("data-metric").await.unwrap().as_deref(),
        Some("level_m")
    );
    let points: usize = chart
        .attr("data-points")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(points >= 2, "{points} points charted");
    screenshot(&viewer, "device-viewer").await;

    // English on request; the device list filters.
    viewer
        .find(Locator::Css("#lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&viewer, "header nav a[href='#/devices']", "Devices").await;
    viewer
        .goto(&format!("http://127.0.0.1:{}/#/devices", api.port))
        .await
        .unwrap();
    wait_count(&viewer, "#device-table tbody tr", 5).await;
    viewer
        .find(Locator::Css("#f-q"))
        .await
        .unwrap()
        .send_keys("park")
        .await
        .unwrap();
    wait_count(&viewer, "#device-table tbody tr", 2).await;
    screenshot(&viewer, "devices-filtered-en").await;

    viewer.close().await.unwrap();
    operator.close().await.unwrap();
}
