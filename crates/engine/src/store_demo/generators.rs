//! The demo world's rows: one generator per Store dataset, each drawing
//! from the world's seeded random streams (`World::rng`), so the same seed
//! gives the same rows on every machine. Here the dispatch (`fill`) and the
//! app analytics datasets; the failure datasets in `health`, ads, desktop
//! and Xbox in `platforms`, what customers say (ratings, reviews) and the
//! insights in `feedback`.

use super::*;

impl World {
    pub(super) fn rng(&self, dataset: &str, key: &str) -> ChaCha8Rng {
        let mut h: u64 = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for b in dataset.bytes().chain(key.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        ChaCha8Rng::seed_from_u64(h)
    }

    pub(super) fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
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
}
