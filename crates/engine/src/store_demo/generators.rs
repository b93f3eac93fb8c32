//! The demo world's rows: one generator per Store dataset, each drawing
//! from the world's seeded random streams (`World::rng`), so the same seed
//! gives the same rows on every machine.

use super::*;

impl World {
    fn rng(&self, dataset: &str, key: &str) -> ChaCha8Rng {
        let mut h: u64 = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for b in dataset.bytes().chain(key.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        ChaCha8Rng::seed_from_u64(h)
    }

    fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        (0..HISTORY_DAYS).map(move |k| self.first + Duration::days(k))
    }

    pub(super) fn fill(
        &self,
        dataset: &str,
        t: &mut Table,
        cabs: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        match dataset {
            "store_products" => {
                for p in PRODUCTS {
                    t.row(&[
                        ("applicationId", S(p.id)),
                        ("productName", S(p.name)),
                        ("productType", S(p.kind)),
                        ("parentId", S(p.parent.unwrap_or(""))),
                    ])?;
                }
                Ok(())
            }
            "store_acquisitions" => self.acquisitions(t),
            "store_funnel" => self.funnel(t),
            "store_channel_conversions" => self.conversions(t),
            "store_subscriptions" => self.subscriptions(t),
            "store_installs" => self.installs(t),
            "store_usage" => self.usage(t),
            "store_failure_hits" => self.failure_hits(t),
            "store_failure_reports" => self.failure_reports(t, cabs),
            "store_stack_frames" => self.stack_frames(t),
            "store_insights" => self.insights(t),
            "store_ratings" => self.ratings(t),
            "store_reviews" => self.reviews(t),
            "store_ad_performance" => self.ads(t),
            "store_ad_campaigns" => self.campaigns(t),
            "store_desktop_install_base" => self.install_base(t),
            "store_desktop_blocks" => self.blocks(t),
            "store_xbox_achievements" => self.achievements(t),
            "store_xbox_concurrency" => self.concurrency(t),
            "store_xbox_gamehub" => self.gamehub(t),
            "store_xbox_documents" => self.documents(t),
            other => Err(EngineError::BadInput(format!(
                "demo generator: no recipe for {other}"
            ))),
        }
    }

    fn acquisitions(&self, t: &mut Table) -> Result<()> {
        for p in PRODUCTS
            .iter()
            .filter(|p| matches!(p.kind, "app" | "addon"))
        {
            let app = p.parent.map_or(*p, product);
            let mut rng = self.rng("acq", p.id);
            let base = if p.kind == "app" { 14.0 } else { 5.0 };
            for day in self.days() {
                let rows = count(&mut rng, base * day_factor(day, self.first)) as usize;
                for _ in 0..rows {
                    let qty = 1 + rng.random_range(0..3);
                    let acquisition_type = if p.kind == "addon" {
                        "Iap"
                    } else {
                        pick(&mut rng, ACQ_TYPES)
                    };
                    let price = match acquisition_type {
                        "Paid" => 4.99,
                        "Iap" => 1.99,
                        _ => 0.0,
                    } * qty as f64;
                    let market = pick(&mut rng, MARKETS);
                    let local = if market == "US" { 1.0 } else { 0.93 };
                    t.row(&[
                        ("date", D(day)),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("productId", S(p.id)),
                        ("productName", S(p.name)),
                        ("productType", S(p.kind)),
                        ("acquisitionType", S(acquisition_type)),
                        ("ageGroup", S(pick(&mut rng, AGES))),
                        ("gender", S(pick(&mut rng, GENDERS))),
                        ("storeClient", S(pick(&mut rng, STORE_CLIENTS))),
                        ("market", S(market)),
                        ("osVersion", S(pick(&mut rng, OS_VERSIONS))),
                        ("deviceType", S(pick(&mut rng, DEVICES))),
                        (
                            "orderName",
                            S(if rng.random::<f64>() < 0.1 {
                                "Spring Promotion"
                            } else {
                                ""
                            }),
                        ),
                        (
                            "paymentInstrumentType",
                            S(if price == 0.0 {
                                "Zero Amount Paid"
                            } else {
                                pick(&mut rng, PAYMENTS)
                            }),
                        ),
                        ("sandboxId", S("RETAIL")),
                        (
                            "xboxTitleId",
                            S(if app.id == "9NBLGGGZ5QDR" {
                                "5D2A1B7C"
                            } else {
                                ""
                            }),
                        ),
                        ("skuId", S("0010")),
                        ("skuDisplayName", S("Full")),
                        ("availabilityId", S("9RX4ZQ3K0F2T")),
                        (
                            "localCurrencyCode",
                            S(if market == "US" { "USD" } else { "EUR" }),
                        ),
                        (
                            "productTypeName",
                            S(if p.kind == "addon" {
                                "Durable"
                            } else if app.id == "9NBLGGGZ5QDR" {
                                "Game"
                            } else {
                                "Application"
                            }),
                        ),
                        ("purchaseTaxType", S("TaxesNotIncluded")),
                        ("acquisitionQuantity", I(qty)),
                        ("purchasePriceUSDAmount", F(price)),
                        (
                            "purchasePriceLocalAmount",
                            F((price * local * 100.0).round() / 100.0),
                        ),
                        (
                            "purchaseTaxUSDAmount",
                            F((price * 0.08 * 100.0).round() / 100.0),
                        ),
                        (
                            "purchaseTaxLocalAmount",
                            F((price * local * 0.08 * 100.0).round() / 100.0),
                        ),
                    ])?;
                }
            }
        }
        Ok(())
    }

    fn funnel(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let mut rng = self.rng("funnel", app.id);
            for day in self.days() {
                for market in ["US", "GB", "DE"] {
                    for device in ["PC", "Console-Xbox One"] {
                        let views = count(&mut rng, 300.0 * day_factor(day, self.first));
                        let acq = views * (20 + rng.random_range(0..10)) / 100;
                        let inst = acq * (70 + rng.random_range(0..20)) / 100;
                        let usage = inst * (60 + rng.random_range(0..30)) / 100;
                        for (metric, users) in [
                            ("PageView", views),
                            ("Acquisition", acq),
                            ("Install", inst),
                            ("Usage", usage),
                        ] {
                            t.row(&[
                                ("date", D(day)),
                                ("applicationId", S(app.id)),
                                (
                                    "campaignId",
                                    S(if market == "US" { "summer-sale" } else { "" }),
                                ),
                                ("market", S(market)),
                                ("deviceType", S(device)),
                                ("ageGroup", S("25 – 34")),
                                ("gender", S("M")),
                                ("metricType", S(metric)),
                                ("userCount", I(users)),
                            ])?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn conversions(&self, t: &mut Table) -> Result<()> {
        for p in PRODUCTS
            .iter()
            .filter(|p| matches!(p.kind, "app" | "addon"))
        {
            let app = p.parent.map_or(*p, product);
            let addon = p.kind == "addon";
            let mut rng = self.rng("conv", p.id);
            for day in self.days() {
                for (channel, campaign, referrer) in [
                    ("CustomCampaignId", "newsletter-2026", "contoso.com"),
                    ("Store Traffic", "", "Universal Client Store"),
                    ("Other", "", "bing.com"),
                ] {
                    let clicks = count(&mut rng, 40.0 * day_factor(day, self.first));
                    let conversions = clicks * rng.random_range(5..30) / 100;
                    t.row(&[
                        ("date", D(day)),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("inAppProductId", S(if addon { p.id } else { "" })),
                        ("inAppProductName", S(if addon { p.name } else { "" })),
                        ("appType", S(if addon { "Add-On" } else { "App" })),
                        ("customCampaignId", S(campaign)),
                        ("referrerUriDomain", S(referrer)),
                        ("channelType", S(channel)),
                        ("storeClient", S("SFC")),
                        ("deviceType", S(pick(&mut rng, DEVICES))),
                        ("market", S(pick(&mut rng, MARKETS))),
                        ("clickCount", I(clicks)),
                        ("conversionCount", I(conversions)),
                    ])?;
                }
            }
        }
        Ok(())
    }

    fn subscriptions(&self, t: &mut Table) -> Result<()> {
        for p in PRODUCTS.iter().filter(|p| p.kind == "subscription") {
            let app = p.parent.map_or(*p, product);
            for (market, device, currency) in [
                ("US", "PC", "USD"),
                ("DE", "PC", "EUR"),
                ("GB", "Console-Xbox One", "GBP"),
            ] {
                let mut rng = self.rng("subs", &format!("{}{market}", p.id));
                let (mut good, mut locked) = (200i64, 1i64);
                for day in self.days() {
                    let new = count(&mut rng, 6.0 * day_factor(day, self.first));
                    let renew = count(&mut rng, 7.0);
                    let churn: Vec<i64> = (0..6)
                        .map(|k| count(&mut rng, [1.0, 1.5, 0.3, 0.1, 0.4, 0.2][k]))
                        .collect();
                    let total_churn: i64 = churn.iter().sum();
                    good = (good + new - total_churn).max(0);
                    let pending = count(&mut rng, 5.0);
                    let grace = count(&mut rng, 3.0);
                    locked = (locked + rng.random_range(-1..=1)).max(0);
                    t.row(&[
                        ("date", D(day)),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("subscriptionProductId", S(p.id)),
                        ("subscriptionProductName", S(p.name)),
                        ("skuId", S("0010")),
                        ("market", S(market)),
                        ("deviceType", S(device)),
                        ("currencyCode", S(currency)),
                        (
                            "grossSalesBeforeTax",
                            F(((new + renew) as f64 * 4.99 * 100.0).round() / 100.0),
                        ),
                        ("totalActiveCount", I(good + pending + grace + locked)),
                        ("totalChurnCount", I(total_churn)),
                        ("newCount", I(new)),
                        ("renewCount", I(renew)),
                        ("goodStandingActiveCount", I(good)),
                        ("pendingGraceActiveCount", I(pending)),
                        ("graceActiveCount", I(grace)),
                        ("lockedActiveCount", I(locked)),
                        ("billingChurnCount", I(churn[0])),
                        ("nonRenewalChurnCount", I(churn[1])),
                        ("refundChurnCount", I(churn[2])),
                        ("chargebackChurnCount", I(churn[3])),
                        ("earlyChurnCount", I(churn[4])),
                        ("otherChurnCount", I(churn[5])),
                    ])?;
                }
            }
        }
        Ok(())
    }

    fn installs(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let mut rng = self.rng("installs", app.id);
            for day in self.days() {
                for market in ["US", "GB", "DE", "JP"] {
                    for version in PACKAGES {
                        t.row(&[
                            ("date", D(day)),
                            ("applicationId", S(app.id)),
                            ("applicationName", S(app.name)),
                            ("market", S(market)),
                            ("osVersion", S(pick(&mut rng, OS_VERSIONS))),
                            ("deviceType", S(pick(&mut rng, DEVICES))),
                            ("packageVersion", S(version)),
                            (
                                "successfulInstallCount",
                                I(count(&mut rng, 12.0 * day_factor(day, self.first))),
                            ),
                        ])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Usage per day and per month for each (app, device, market) cell.
    fn usage(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let xbox = app.id == "9NBLGGGZ5QDR";
            for (device, market) in [
                ("PC", "US"),
                ("PC", "DE"),
                ("Console-Xbox One", "US"),
                ("Console-Xbox One", "GB"),
            ] {
                let mut rng = self.rng("usage", &format!("{}{device}{market}", app.id));
                let version = if xbox { "" } else { "1.5.1.0" };
                let subscription = if xbox && device != "PC" {
                    "Xbox Game Pass"
                } else {
                    ""
                };
                let mut months: Vec<(NaiveDate, Vec<DayUsage>)> = Vec::new();
                for day in self.days() {
                    let dau = count(&mut rng, 400.0 * day_factor(day, self.first));
                    let devices = dau * 9 / 10;
                    let sessions = dau * (2 + rng.random_range(0..2));
                    let minutes =
                        (dau as f64 * (12.0 + 6.0 * rng.random::<f64>()) * 10.0).round() / 10.0;
                    let new_users = dau / 20;
                    let m = month_start(day);
                    if months.last().is_none_or(|(mm, _)| *mm != m) {
                        months.push((m, Vec::new()));
                    }
                    if let Some((_, v)) = months.last_mut() {
                        v.push((dau, devices, sessions, minutes));
                    }
                    let mau = dau * 6;
                    t.row(&[
                        ("date", D(day)),
                        ("grain", S("day")),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("deviceType", S(device)),
                        ("packageVersion", S(version)),
                        ("market", S(market)),
                        ("subscriptionName", S(subscription)),
                        ("dailySessionCount", I(sessions)),
                        ("dailyActiveUsers", I(dau)),
                        ("dailyActiveDevices", I(devices)),
                        ("dailyNewUsers", I(new_users)),
                        ("dailyNewDevices", I(0)),
                        ("monthlyActiveUsers", I(mau)),
                        ("monthlyActiveDevices", I(mau * 9 / 10)),
                        ("monthlyNewUsers", I(new_users * 25)),
                        ("monthlyNewDevices", I(0)),
                        ("engagementDurationMinutes", F(minutes)),
                    ])?;
                }
                for (m, days) in months {
                    let n = days.len() as i64;
                    let sum_dau: i64 = days.iter().map(|d| d.0).sum();
                    let peak = days.iter().map(|d| d.0).max().unwrap_or(0);
                    let mau = peak + (sum_dau - peak) / 5;
                    let sessions: i64 = days.iter().map(|d| d.2).sum();
                    let minutes: f64 = days.iter().map(|d| d.3).sum();
                    t.row(&[
                        ("date", D(m)),
                        ("grain", S("month")),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("deviceType", S(device)),
                        ("packageVersion", S(version)),
                        ("market", S(market)),
                        ("subscriptionName", S(subscription)),
                        ("monthlySessionCount", I(sessions)),
                        ("monthlyActiveUsers", I(mau)),
                        ("monthlyActiveDevices", I(mau * 9 / 10)),
                        ("monthlyNewUsers", I(sum_dau / 20)),
                        ("monthlyNewDevices", I(0)),
                        (
                            "engagementDurationMinutes",
                            F((minutes * 10.0).round() / 10.0),
                        ),
                        (
                            "averageDailyActiveUsers",
                            F(sum_dau as f64 / n.max(1) as f64),
                        ),
                        (
                            "averageDailyActiveDevices",
                            F(sum_dau as f64 * 0.9 / n.max(1) as f64),
                        ),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// The failures each product has: (name, hash, symbol, event type).
    fn failures(&self, product: &str) -> Vec<(String, String, String, &'static str)> {
        let mut rng = self.rng("failures", product);
        let images = ["ContosoCore.dll", "app.exe", "ntdll.dll", "ucrtbase.dll"];
        (0..6)
            .map(|k| {
                let image = images[k % images.len()];
                let function = [
                    "ParseHeader",
                    "RenderFrame",
                    "LoadTile",
                    "SaveDocument",
                    "OnResume",
                    "Dispose",
                ][k];
                let event = pick(&mut rng, EVENT_TYPES);
                let code = ["c0000005", "c0000409", "e0434352", "80000003"][k % 4];
                (
                    format!(
                        "{}_{code}_{image}!{function}",
                        [
                            "NULL_CLASS_PTR_READ",
                            "STACK_BUFFER_OVERRUN",
                            "CLR_EXCEPTION",
                            "BREAKPOINT"
                        ][k % 4]
                    ),
                    guid(&mut rng),
                    format!("{image}!{function}+0x{:x}", 16 * (k + 1)),
                    event,
                )
            })
            .collect()
    }

    /// Products with failure data and the columns that tell them apart.
    fn failure_sources() -> Vec<(&'static str, &'static str)> {
        vec![
            ("9NBLGGH4R315", "uwp"),
            ("9WZDNCRFJ3TJ", "uwp"),
            ("9NBLGGGZ5QDR", "xbox"),
            ("10293847", "desktop"),
            ("14567890", "driver"),
            ("ihvdriver", "ihvdriver"),
            ("hardware", "hardware"),
        ]
    }

    fn failure_hits(&self, t: &mut Table) -> Result<()> {
        let failure_days = 45;
        let from = self.last - Duration::days(failure_days - 1);
        for (id, kind) in Self::failure_sources() {
            let account = matches!(kind, "ihvdriver" | "hardware");
            let p = product(id);
            let failures = self.failures(id);
            for (fi, (name, hash, symbol, event)) in failures.iter().enumerate() {
                for (ci, market) in ["US", "DE", "JP"].iter().enumerate() {
                    let mut rng = self.rng("hits", &format!("{id}{fi}{ci}"));
                    let os_release = OS_RELEASES[(fi + ci) % OS_RELEASES.len()];
                    let version = PACKAGES[(fi + ci) % PACKAGES.len()];
                    let device = match kind {
                        "xbox" => "Console",
                        "driver" | "ihvdriver" | "hardware" => "PC",
                        _ => ["PC", "Unknown"][ci % 2],
                    };
                    let cells = |date: NaiveDate,
                                 hour: Option<i64>,
                                 grain: &'static str,
                                 devices: i64,
                                 events: i64|
                     -> Vec<(&'static str, CellRef<'_>)> {
                        let mut c: Vec<(&str, CellRef<'_>)> = vec![
                            ("date", D(date)),
                            ("grain", S(grain)),
                            ("failureName", S(name)),
                            ("failureHash", S(hash)),
                            ("symbol", S(symbol)),
                            (
                                "eventType",
                                S(if kind == "xbox" && *event == "memory" {
                                    "memory failure"
                                } else {
                                    event
                                }),
                            ),
                            ("market", S(market)),
                            ("deviceType", S(device)),
                            (
                                "osVersion",
                                S(if kind == "xbox" {
                                    "Windows 10"
                                } else {
                                    "Windows 11"
                                }),
                            ),
                            ("osRelease", S(os_release)),
                            ("osBuild", S("10.0.22631.4460")),
                            ("deviceCount", I(devices)),
                            ("eventCount", I(events)),
                        ];
                        if let Some(h) = hour {
                            c.push(("hour", I(h)));
                        }
                        if account {
                            c.push(("sellerId", S(SELLER_ID)));
                            c.push(("productName", S(kind)));
                        } else {
                            c.push(("applicationId", S(p.id)));
                            c.push(("applicationName", S(p.name)));
                        }
                        match kind {
                            "uwp" | "xbox" => {
                                c.push((
                                    "packageName",
                                    S("Contoso.App_1.5.1.0_x64__8wekyb3d8bbwe"),
                                ));
                                c.push(("packageVersion", S(version)));
                            }
                            "desktop" => {
                                c.push(("productName", S(p.name)));
                                c.push(("fileName", S("studio.exe")));
                                c.push(("applicationVersion", S(version)));
                            }
                            _ => {
                                c.push(("submissionId", S("1152921504628000000")));
                                c.push(("driverName", S("contosowifi.sys")));
                                c.push(("driverVersion", S("2.1.4.0")));
                                c.push(("oemName", S("Contoso")));
                                c.push(("oemModel", S("CW-200")));
                                c.push(("flightRing", S("Retail")));
                                c.push(("architecture", S("X64")));
                                c.push(("osName", S("Windows 11")));
                                c.push(("moduleName", S("contosowifi.sys")));
                                c.push(("moduleVersion", S("2.1.4.0")));
                                c.push(("mode", S("kernel")));
                                c.push(("model", S("CW-200")));
                                c.push(("baseboard", S("CB-1")));
                                c.push(("modelFamily", S("Contoso Wireless")));
                            }
                        }
                        c
                    };
                    let mut weeks: HashMap<NaiveDate, (i64, i64, i64)> = HashMap::new();
                    let mut months: HashMap<NaiveDate, (i64, i64, i64)> = HashMap::new();
                    for k in 0..failure_days {
                        let day = from + Duration::days(k);
                        let events = count(&mut rng, 30.0 / (fi as f64 + 1.0));
                        let devices = (events * 2 / 3).max(i64::from(events > 0));
                        t.row(&cells(day, None, "day", devices, events))?;
                        for (map, key) in [
                            (&mut weeks, week_start(day)),
                            (&mut months, month_start(day)),
                        ] {
                            let e = map.entry(key).or_insert((0, 0, 0));
                            e.0 += events;
                            e.1 += devices;
                            e.2 = e.2.max(devices);
                        }
                        if (self.last - day).num_days() < 4 {
                            // Hours split the day's events; each hour's devices
                            // are no more than the day's.
                            let mut left = events;
                            for h in 0..24 {
                                let e = if h == 23 {
                                    left
                                } else {
                                    rng.random_range(0..=left.min(3))
                                };
                                left -= e;
                                if e > 0 {
                                    t.row(&cells(day, Some(h), "hour", e.min(devices).max(1), e))?;
                                }
                            }
                        }
                    }
                    for (grain, map) in [("week", weeks), ("month", months)] {
                        let mut keys: Vec<_> = map.into_iter().collect();
                        keys.sort_by_key(|(d, _)| *d);
                        for (date, (events, sum_devices, peak)) in keys {
                            let devices = peak + (sum_devices - peak) / 2;
                            t.row(&cells(date, None, grain, devices, events))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Four failure reports (CABs) per failure of every product: the one
    /// list both the reports and their stack frames are made from.
    fn reports(&self) -> Vec<Report> {
        let mut out = Vec::new();
        for (id, kind) in Self::failure_sources() {
            let mut rng = self.rng("reports", id);
            for (name, hash, symbol, _) in self.failures(id) {
                for k in 0..4u64 {
                    let day = self.last - Duration::days(rng.random_range(0..28i64));
                    let key = if matches!(kind, "uwp" | "xbox") {
                        format!(
                            "{}",
                            1_200_000_000u64 + rng.random_range(0..99_999_999u64) + k
                        )
                    } else {
                        guid(&mut rng)
                    };
                    out.push(Report {
                        product: id,
                        kind,
                        name: name.clone(),
                        hash: hash.clone(),
                        symbol: symbol.clone(),
                        k,
                        day,
                        key,
                    });
                }
            }
        }
        out
    }

    fn failure_reports(&self, t: &mut Table, cabs: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        for r in self.reports() {
            let (kind, k, day, key, hash, name) = (r.kind, r.k, r.day, &r.key, &r.hash, &r.name);
            let account = matches!(kind, "ihvdriver" | "hardware");
            let p = product(r.product);
            let expires = day + Duration::days(35);
            let expiry = format!("{} 01:37:00", expires.format("%Y-%m-%d"));
            let mut c: Vec<(&str, CellRef<'_>)> = vec![
                ("date", D(day)),
                ("failureHash", S(hash)),
                ("failureName", S(name)),
                ("cabKey", S(key)),
                ("cabType", S("MINI")),
                ("cabExpirationTime", S(&expiry)),
                ("cabDownloadable", I(1)),
                ("market", S(["US", "DE", "JP"][k as usize % 3])),
                ("osBuild", S("10.0.22631")),
                (
                    "osVersion",
                    S(if kind == "xbox" {
                        "Windows 10"
                    } else {
                        "Windows 11"
                    }),
                ),
                ("osRelease", S("Version 23H2")),
                (
                    "deviceType",
                    S(if kind == "xbox" { "Console" } else { "PC" }),
                ),
                (
                    "deviceModel",
                    S(if kind == "xbox" {
                        "Microsoft-Xbox One S"
                    } else {
                        "Dell Inc.-Inspiron 15-3567"
                    }),
                ),
                ("packageVersion", S("1.5.1.0")),
                ("applicationVersion", S("1.5.1.0")),
                ("clientDeviceId", S("4A7C1B")),
            ];
            if account {
                c.push(("sellerId", S(SELLER_ID)));
                c.push(("fileName", S(kind)));
            } else {
                c.push(("applicationId", S(p.id)));
                if kind == "desktop" {
                    c.push(("fileName", S("studio.exe")));
                }
            }
            t.row(&c)?;
            cabs.push((key.clone(), cab_file(key, name)?));
        }
        Ok(())
    }

    fn stack_frames(&self, t: &mut Table) -> Result<()> {
        for r in self.reports() {
            let (symbol, key) = (&r.symbol, &r.key);
            let (image, function) = symbol.split_once('!').unwrap_or(("app.exe", "main"));
            let function = function.split('+').next().unwrap_or(function);
            let frames = [
                (image, function),
                (image, "DispatchMessage"),
                ("user32.dll", "UserCallWinProcCheckWow"),
                ("kernel32.dll", "BaseThreadInitThunk"),
                ("ntdll.dll", "RtlUserThreadStart"),
            ];
            for (level, (img, func)) in frames.iter().enumerate() {
                let level_text = level.to_string();
                let offset = format!("0x{:X}", 0x1a0 + 0x38 * level);
                t.row(&[
                    ("cabKey", S(key)),
                    ("level", S(&level_text)),
                    ("image", S(img)),
                    ("function", S(func)),
                    ("offset", S(&offset)),
                    ("isBlamedFrame", I(i64::from(level == 0))),
                ])?;
            }
        }
        Ok(())
    }

    fn insights(&self, t: &mut Table) -> Result<()> {
        for p in PRODUCTS
            .iter()
            .filter(|p| matches!(p.kind, "app" | "desktop"))
        {
            let mut rng = self.rng("insights", p.id);
            let mut day = week_start(self.last) - Duration::days(1);
            while day > self.last - Duration::days(60) {
                let types: &[&str] = if p.kind == "desktop" {
                    &["health"]
                } else {
                    &["acquisition", "health", "usage"]
                };
                for data_type in types {
                    let fact = match *data_type {
                        "health" => "HitCount",
                        "acquisition" => "AcquisitionQuantity",
                        _ => "DailyActiveUsers",
                    };
                    let dimension = match *data_type {
                        "health" => "EventType",
                        "acquisition" => "Market",
                        _ => "DeviceType",
                    };
                    let value = match *data_type {
                        "health" => "crash",
                        "acquisition" => "US",
                        _ => "PC",
                    };
                    let change: f64 = (rng.random::<f64>() * 80.0 - 40.0).round();
                    let direction = if change >= 0.0 {
                        "Positive"
                    } else {
                        "Negative"
                    };
                    let date_text = format!("{} 00:00:00", day.format("%Y-%m-%d"));
                    let detail = serde_json::json!([{
                        "FactName": fact,
                        "SubDimensions": [{
                            "FactName": fact,
                            "SubDimensions": [],
                            "PercentChange": (change / 2.0).round(),
                            "DimensionName": "OsVersion",
                            "DimensionValue": "Windows 11",
                            "FactValue": count(&mut rng, 40.0),
                            "Direction": direction,
                            "Date": date_text,
                        }],
                        "PercentChange": change,
                        "DimensionName": dimension,
                        "DimensionValue": value,
                        "FactValue": count(&mut rng, 120.0),
                        "Direction": direction,
                        "Date": date_text,
                    }]);
                    let id: String = (0..4)
                        .map(|_| format!("{:016x}", rng.random::<u64>()))
                        .collect();
                    t.row(&[
                        ("insightDate", D(day)),
                        ("applicationId", S(p.id)),
                        ("dataType", S(data_type)),
                        ("id", S(&id)),
                        ("insightDetail", S(&detail.to_string())),
                    ])?;
                }
                day -= Duration::days(7);
            }
        }
        Ok(())
    }

    fn ratings(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let mut rng = self.rng("ratings", app.id);
            for day in self.days() {
                for market in ["US", "GB", "DE"] {
                    for revised in [0, 1] {
                        let scale = if revised == 1 { 0.2 } else { 1.0 };
                        t.row(&[
                            ("date", D(day)),
                            ("applicationId", S(app.id)),
                            ("applicationName", S(app.name)),
                            ("market", S(market)),
                            ("osVersion", S("Windows 11")),
                            ("deviceType", S("PC")),
                            ("isRevised", I(revised)),
                            ("fiveStars", I(count(&mut rng, 6.0 * scale))),
                            ("fourStars", I(count(&mut rng, 3.0 * scale))),
                            ("threeStars", I(count(&mut rng, 1.5 * scale))),
                            ("twoStars", I(count(&mut rng, 0.7 * scale))),
                            ("oneStar", I(count(&mut rng, 1.0 * scale))),
                        ])?;
                    }
                }
            }
        }
        Ok(())
    }

    fn reviews(&self, t: &mut Table) -> Result<()> {
        const TITLES: &[(&str, &str, i64)] = &[
            (
                "Great app",
                "Works great on my laptop, the new filters are lovely.",
                5,
            ),
            (
                "Crashes on start",
                "It crashes every time I open a large file. Please fix.",
                1,
            ),
            (
                "Good but slow",
                "Does what it says but it's slow to load.",
                3,
            ),
            ("Love it", "Best app of its kind in the Store.", 5),
            (
                "Needs dark mode",
                "Please add a dark mode, otherwise fine.",
                4,
            ),
        ];
        for app in apps() {
            let mut rng = self.rng("reviews", app.id);
            for day in self.days() {
                for _ in 0..count(&mut rng, 2.0) {
                    let (title, text, rating) = TITLES[rng.random_range(0..TITLES.len())];
                    let responded = rating <= 3 && rng.random::<f64>() < 0.5;
                    let second = rng.random_range(0..86_400u32);
                    let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
                    let submitted = format!(
                        "{}/{}/{} {}:{:02}:{:02} {}",
                        day.month(),
                        day.day(),
                        day.year(),
                        if h % 12 == 0 { 12 } else { h % 12 },
                        m,
                        s,
                        if h < 12 { "AM" } else { "PM" }
                    );
                    let id = guid(&mut rng);
                    let response_date = if responded {
                        format!("{}", (day + Duration::days(1)).format("%Y-%m-%d"))
                    } else {
                        String::new()
                    };
                    let mut c: Vec<(&str, CellRef<'_>)> = vec![
                        ("date", D(day)),
                        ("submittedAt", S(&submitted)),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("market", S(pick(&mut rng, MARKETS))),
                        ("osVersion", S("Windows 11")),
                        ("deviceType", S("PC")),
                        ("isRevised", I(i64::from(rng.random::<f64>() < 0.1))),
                        ("packageVersion", S("1.5.1.0")),
                        ("deviceModel", S("Surface Laptop 5")),
                        ("productFamily", S("PC")),
                        ("deviceRAM", I([8192, 16384, 32768][rng.random_range(0..3)])),
                        ("deviceScreenResolution", S("2256 x 1504")),
                        (
                            "deviceStorageCapacity",
                            I([256, 512, 1024][rng.random_range(0..3)]),
                        ),
                        ("isTouchEnabled", I(i64::from(rng.random::<bool>()))),
                        (
                            "reviewerName",
                            S(["Alex", "Sam", "Kim", "Jo"][rng.random_range(0..4)]),
                        ),
                        ("rating", I(rating)),
                        ("reviewTitle", S(title)),
                        ("reviewText", S(text)),
                        ("helpfulCount", I(rng.random_range(0..20))),
                        ("notHelpfulCount", I(rng.random_range(0..5))),
                        ("id", S(&id)),
                    ];
                    if responded {
                        c.push(("responseDate", S(&response_date)));
                        c.push((
                            "responseText",
                            S("Thanks for the report, a fix ships in 1.5.2."),
                        ));
                    }
                    t.row(&c)?;
                }
            }
        }
        Ok(())
    }

    fn ads(&self, t: &mut Table) -> Result<()> {
        for app in apps().take(2) {
            let mut rng = self.rng("ads", app.id);
            for day in self.days() {
                for (unit, unit_id) in [
                    ("Banner main", "1100012345"),
                    ("Interstitial", "1100012346"),
                ] {
                    for device in ["PC/Tablet", "Phone"] {
                        for market in ["US", "DE"] {
                            let requests = count(&mut rng, 900.0 * day_factor(day, self.first));
                            let impressions = requests * 8 / 10;
                            let clicks = impressions / 100;
                            t.row(&[
                                ("date", D(day)),
                                ("applicationId", S(app.id)),
                                ("applicationName", S(app.name)),
                                ("accountCurrencyCode", S("USD")),
                                ("market", S(market)),
                                ("deviceType", S(device)),
                                ("adUnitName", S(unit)),
                                ("adUnitId", S(unit_id)),
                                ("pubCenterAppName", S(app.name)),
                                ("adProvider", S("Microsoft")),
                                ("adProviderRequests", I(requests)),
                                ("impressions", I(impressions)),
                                ("clicks", I(clicks)),
                                ("requests", I(requests)),
                                (
                                    "revenueInAccountCurrency",
                                    F((impressions as f64 * 0.0012 * 100.0).round() / 100.0),
                                ),
                            ])?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn campaigns(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let mut rng = self.rng("campaigns", app.id);
            for day in self.days() {
                for (campaign, line) in [("5001", "7001"), ("5002", "7002")] {
                    let impressions = count(&mut rng, 2000.0);
                    let clicks = impressions / 50;
                    let installs = clicks / 4;
                    t.row(&[
                        ("date", D(day)),
                        ("applicationId", S(app.id)),
                        ("campaignId", S(campaign)),
                        ("lineId", S(line)),
                        ("currencyCode", S("USD")),
                        (
                            "spend",
                            F((impressions as f64 * 0.004 * 100.0).round() / 100.0),
                        ),
                        ("impressions", I(impressions)),
                        ("installs", I(installs)),
                        ("clicks", I(clicks)),
                        ("iapInstalls", I(installs / 5)),
                        ("activeUsers", I(installs * 3)),
                    ])?;
                }
            }
        }
        Ok(())
    }

    fn install_base(&self, t: &mut Table) -> Result<()> {
        let p = product("10293847");
        for (version, market, os) in [
            ("3.2.0.0", "US", "Windows 11"),
            ("3.2.0.0", "DE", "Windows 10"),
            ("3.1.5.0", "US", "Windows 10"),
        ] {
            let mut rng = self.rng("installbase", &format!("{version}{market}{os}"));
            let mut base = 5000i64;
            for day in self.days() {
                base = (base + rng.random_range(-40..60)).max(0);
                t.row(&[
                    ("date", D(day)),
                    ("applicationId", S(p.id)),
                    ("productName", S(p.name)),
                    ("applicationVersion", S(version)),
                    ("deviceType", S("PC")),
                    ("market", S(market)),
                    ("osVersion", S(os)),
                    (
                        "osRelease",
                        S(if os == "Windows 11" {
                            "Version 23H2"
                        } else {
                            "Version 22H2"
                        }),
                    ),
                    ("installBase", I(base)),
                ])?;
            }
        }
        Ok(())
    }

    fn blocks(&self, t: &mut Table) -> Result<()> {
        let p = product("10293847");
        for (file, block, arch) in [
            ("studio.exe", "Potential Sediment", "X86"),
            ("helper.dll", "Runtime Notification", "ARM64"),
        ] {
            let mut rng = self.rng("blocks", file);
            for day in self.days() {
                t.row(&[
                    ("date", D(day)),
                    ("applicationId", S(p.id)),
                    ("productName", S(p.name)),
                    ("fileName", S(file)),
                    ("applicationVersion", S("3.2.0.0")),
                    ("osVersion", S("Windows 10")),
                    ("osRelease", S("Version 22H2")),
                    ("market", S("US")),
                    ("deviceType", S("PC")),
                    ("blockType", S(block)),
                    ("architecture", S(arch)),
                    ("targetOs", S("Version 23H2")),
                    ("deviceCount", I(count(&mut rng, 25.0))),
                ])?;
            }
        }
        Ok(())
    }

    fn achievements(&self, t: &mut Table) -> Result<()> {
        let game = product("9NBLGGGZ5QDR");
        let names = [
            "First Steps",
            "Gem Collector",
            "Puzzle Master",
            "Speed Runner",
            "Completionist",
        ];
        let mut totals = [0i64; 5];
        let mut rng = self.rng("achievements", game.id);
        for day in self.days() {
            for (k, name) in names.iter().enumerate() {
                let daily = count(&mut rng, 200.0 / (k as f64 + 1.0));
                totals[k] += daily;
                t.row(&[
                    ("date", D(day)),
                    ("applicationId", S(game.id)),
                    ("achievementId", I(k as i64 + 1)),
                    ("achievementName", S(name)),
                    ("gamerscore", I(10 * (k as i64 + 1))),
                    ("dailyUnlocks", I(daily)),
                    ("monthlyUnlocks", I(daily * 28)),
                    ("totalUnlocks", I(totals[k])),
                ])?;
            }
        }
        Ok(())
    }

    fn concurrency(&self, t: &mut Table) -> Result<()> {
        let game = product("9NBLGGGZ5QDR");
        let mut rng = self.rng("concurrency", game.id);
        // Minute series for the last three days (near real time), up to today.
        let today = self.last + Duration::days(LAG_DAYS);
        for k in 0..4 {
            let day = today - Duration::days(3 - k);
            for minute in 0..1440i64 {
                let hour = minute as f64 / 60.0;
                let curve = 1.0 + 0.6 * ((hour - 20.0) / 24.0 * std::f64::consts::TAU).cos();
                let players = (300.0 * curve * (0.9 + 0.2 * rng.random::<f64>())).round();
                t.row(&[
                    ("date", D(day)),
                    ("minute", I(minute)),
                    ("applicationId", S(game.id)),
                    ("count", F(players)),
                ])?;
            }
        }
        Ok(())
    }

    fn gamehub(&self, t: &mut Table) -> Result<()> {
        let game = product("9NBLGGGZ5QDR");
        let mut rng = self.rng("gamehub", game.id);
        let mut followers = 12_000i64;
        for day in self.days() {
            followers += count(&mut rng, 15.0);
            t.row(&[
                ("date", D(day)),
                ("applicationId", S(game.id)),
                ("gameHubLikeCount", I(count(&mut rng, 40.0))),
                ("gameHubCommentCount", I(count(&mut rng, 12.0))),
                ("gameHubShareCount", I(count(&mut rng, 5.0))),
                ("gameHubFollowerCount", I(followers)),
            ])?;
        }
        Ok(())
    }

    fn documents(&self, t: &mut Table) -> Result<()> {
        let game = product("9NBLGGGZ5QDR");
        let mut rng = self.rng("documents", game.id);
        let props = |id: &str, scale: f64| {
            let v = |x: f64| {
                if scale < 1.0 {
                    format!("{:.4}", x * scale)
                } else {
                    format!("{}", x.round())
                }
            };
            serde_json::json!({
                "DeviceProperties": [{
                    "applicationId": id,
                    "connectionTypeDistribution": [{"conType": "WIRED", "deviceCount": v(5200.0)}, {"conType": "WIRELESS", "deviceCount": v(9800.0)}],
                    "deviceCount": v(15000.0),
                    "eliteControllerPresentDeviceCount": v(900.0),
                    "externalDrivePresentDeviceCount": v(2100.0)
                }],
                "UserProperties": [{
                    "applicationId": id,
                    "userCount": v(16500.0),
                    "dvrUsageCounts": [{"dvrName": "GameClip", "userCount": v(1400.0)}, {"dvrName": "Screenshot", "userCount": v(2600.0)}],
                    "followerCountPercentiles": [{"percentage": "50", "value": v(12.0)}, {"percentage": "90", "value": v(85.0)}],
                    "friendCountPercentiles": [{"percentage": "50", "value": v(20.0)}, {"percentage": "90", "value": v(110.0)}],
                    "gamerScoreRangeDistribution": [{"scoreRange": "0-1000", "userCount": v(3000.0)}, {"scoreRange": "1000-10000", "userCount": v(9000.0)}],
                    "titleGamerScoreRangeDistribution": [{"scoreRange": "0-100", "userCount": v(8000.0)}, {"scoreRange": "100-1000", "userCount": v(8500.0)}],
                    "socialUsageCounts": [{"scName": "Clubs", "userCount": v(2300.0)}],
                    "streamingUsageCounts": [{"stName": "Mixer", "userCount": v(150.0)}]
                }]
            })
        };
        let doc = serde_json::json!({
            "ProductData": props(game.id, 1.0),
            "XboxwideData": props("XBOXWIDE", 0.0001),
        });
        t.row(&[
            ("date", D(self.last)),
            ("applicationId", S(game.id)),
            ("metricType", S("productvalues")),
            ("document", S(&doc.to_string())),
        ])?;
        for day in self.days().skip((HISTORY_DAYS - 60) as usize) {
            for device in ["XboxOne", "WindowsOneCore"] {
                let patterns: Vec<serde_json::Value> = [
                    ("achievements", "/users/xuid/achievements", "200"),
                    ("presence", "/users/batch", "429E"),
                ]
                .iter()
                .map(|(service, endpoint, status)| {
                    serde_json::json!({
                        "service": service,
                        "endpoint": endpoint,
                        "httpStatusCode": status,
                        "serviceResponses": count(&mut rng, 5000.0),
                        "uniqueDevices": count(&mut rng, 800.0),
                        "uniqueUsers": count(&mut rng, 850.0),
                    })
                })
                .collect();
                let doc = serde_json::json!({
                    "applicationId": game.id,
                    "date": format!("{}T00:00:00", day.format("%Y-%m-%d")),
                    "deviceType": device,
                    "sandboxId": "RETAIL",
                    "packageVersion": "1.5.1.0",
                    "callingPattern": patterns,
                });
                t.row(&[
                    ("date", D(day)),
                    ("applicationId", S(game.id)),
                    ("metricType", S("callingpattern")),
                    ("deviceType", S(device)),
                    ("packageVersion", S("1.5.1.0")),
                    ("sandboxId", S("RETAIL")),
                    ("document", S(&doc.to_string())),
                ])?;
            }
            let club = |id: &str| {
                serde_json::json!([{
                    "date": format!("{}T00:00:00", day.format("%Y-%m-%d")),
                    "applicationId": id,
                    "clubsWithTitleActivity": 40,
                    "clubsExclusiveToGame": 6,
                    "clubFacts": [{"name": "Puzzle Pros", "memberCount": 1200, "titleSocialActionsCount": 340, "isExclusiveToGame": true}]
                }])
            };
            let doc =
                serde_json::json!({"ProductData": club(game.id), "XboxwideData": club("XBOXWIDE")});
            t.row(&[
                ("date", D(day)),
                ("applicationId", S(game.id)),
                ("metricType", S("communitymanagerclub")),
                ("document", S(&doc.to_string())),
            ])?;
        }
        Ok(())
    }
}
