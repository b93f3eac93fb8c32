//! The demo world's rows beyond app analytics: ad performance and
//! campaigns, the desktop install base and blocks, and the Xbox datasets.

use super::*;

impl World {
    pub(super) fn ads(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn campaigns(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn install_base(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn blocks(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn achievements(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn concurrency(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn gamehub(&self, t: &mut Table) -> Result<()> {
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

    pub(super) fn documents(&self, t: &mut Table) -> Result<()> {
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
