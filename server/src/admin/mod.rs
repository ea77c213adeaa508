//! Admin commands: one executor for the in-game console and the HTTP API.
//!
//! Lines arrive as [`AdminLine`] messages (from game clients) or through the
//! bridge's admin queue (from HTTP). A game client's line runs only if the
//! database says, now, that the account is an admin and not banned ([`access`]);
//! the HTTP endpoint checks the same before it queues a line. Refusals for players
//! are counted, not audited. Each line is parsed with the shared grammar, run,
//! answered and, unless it only reads (`help`, `status`, `players`: the dashboard
//! polls those every second), audited with who ran it. The executor never touches connections or
//! ship components: it writes clock and ship commands, and [`DisconnectPlayer`]
//! and [`ConsoleReply`] messages that the network plugin carries out. Database
//! commands (`promote`, `demote`, `ban`) finish on the tokio runtime and answer
//! from there; `snapshot` answers once the writer has written it (or first failed).

mod access;

use bevy::prelude::*;
use galaxy_shared::admin::{AdminCommand, HELP};
use galaxy_shared::components::{FlightState, Fuel, Ship, Throttle};
use galaxy_shared::protocol::{ErrorCode, Role};
use galaxy_shared::units::CalendarTime;
use metrics::counter;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::bridge::{Actor, AdminInbox, AdminReply, Bridge};
use crate::config::Config;
use crate::db::Db;
use crate::ephemeris::Bodies;
use crate::persistence::{SnapshotOutcome, SnapshotRequests};
use crate::roster::{
    AdminLine, BannedNames, ConsoleReply, DisconnectPlayer, PlayerConnected, ReplyTo, Roster,
};
use crate::ships::spawn::circular_orbit;
use crate::ships::{Owner, ShipAction, ShipCommand, flight_word};
use crate::telemetry;
use crate::tick::{ClockCommand, SimClock, TickStats};
use crate::warp::WarpChoice;
use access::{Access, Verdict};

pub(super) fn plugin(app: &mut App) {
    let (deferred_tx, deferred_rx) = mpsc::unbounded_channel();
    app.init_resource::<Access>()
        .insert_resource(Deferred {
            tx: deferred_tx,
            rx: deferred_rx,
        })
        .add_systems(
            Update,
            (
                queue_http_requests,
                check_connected_players,
                run_admin_lines,
                answer_deferred,
            )
                .chain(),
        );
}

/// The database and the runtime that talks to it, for account standings,
/// `promote`, `demote`, `ban` and the audit log.
#[derive(Resource, Clone)]
pub struct AdminDb {
    /// Accounts and audit log.
    pub db: Db,
    /// Where database work runs.
    pub runtime: tokio::runtime::Handle,
}

/// Work finished off the main thread.
enum Finished {
    /// An answer for a player's console.
    Reply(u64, AdminReply),
    /// An account's role or ban changed: cached standings are stale.
    AccountChanged,
}

/// Answers and notices from the runtime.
#[derive(Resource)]
struct Deferred {
    tx: mpsc::UnboundedSender<Finished>,
    rx: mpsc::UnboundedReceiver<Finished>,
}

impl Deferred {
    /// Sends `reply` where it belongs, from any thread.
    fn answer(tx: &mpsc::UnboundedSender<Finished>, reply_to: ReplyTo, reply: AdminReply) {
        match reply_to {
            ReplyTo::Player(player) => {
                let _ = tx.send(Finished::Reply(player, reply));
            }
            ReplyTo::Http(sender) => {
                let _ = sender.send(reply);
            }
        }
    }
}

fn queue_http_requests(inbox: Option<ResMut<AdminInbox>>, mut lines: MessageWriter<AdminLine>) {
    let Some(mut inbox) = inbox else {
        return;
    };
    while let Ok(request) = inbox.0.try_recv() {
        lines.write(AdminLine {
            actor: request.actor,
            line: request.line,
            reply_to: ReplyTo::Http(request.reply),
        });
    }
}

/// Every connection is checked against the database once: a banned account's
/// cached connect token gets it nowhere.
fn check_connected_players(
    mut connected: MessageReader<PlayerConnected>,
    mut access: ResMut<Access>,
    db: Option<Res<AdminDb>>,
) {
    let Some(db) = db else {
        connected.clear();
        return;
    };
    for PlayerConnected { player } in connected.read() {
        access.look_up(*player, &db);
    }
}

fn answer_deferred(
    mut deferred: ResMut<Deferred>,
    mut access: ResMut<Access>,
    mut answers: MessageWriter<ConsoleReply>,
) {
    while let Ok(finished) = deferred.rx.try_recv() {
        match finished {
            Finished::Reply(player, reply) => {
                answers.write(ConsoleReply { player, reply });
            }
            Finished::AccountChanged => access.forget_standings(),
        }
    }
}

/// What the executor may touch.
#[derive(bevy::ecs::system::SystemParam)]
struct World<'w, 's> {
    config: Res<'w, Config>,
    clock: Res<'w, SimClock>,
    warp: Option<Res<'w, WarpChoice>>,
    stats: Res<'w, TickStats>,
    bridge: Option<Res<'w, Bridge>>,
    bodies: Res<'w, Bodies>,
    roster: Res<'w, Roster>,
    banned: ResMut<'w, BannedNames>,
    clock_commands: MessageWriter<'w, ClockCommand>,
    ship_commands: MessageWriter<'w, ShipCommand>,
    disconnects: MessageWriter<'w, DisconnectPlayer>,
    ships: Query<
        'w,
        's,
        (
            Entity,
            &'static Owner,
            &'static Throttle,
            &'static Fuel,
            &'static FlightState,
        ),
        With<Ship>,
    >,
}

fn run_admin_lines(
    mut lines: ResMut<Messages<AdminLine>>,
    mut access: ResMut<Access>,
    mut world: World,
    mut answers: MessageWriter<ConsoleReply>,
    db: Option<Res<AdminDb>>,
    deferred: Res<Deferred>,
    mut snapshots: Option<ResMut<SnapshotRequests>>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed_secs_f64();
    let (mut ready, banned) = access.finished(now);
    for player in banned {
        world.disconnects.write(DisconnectPlayer {
            player,
            code: ErrorCode::Banned,
            reason: "this account is banned".into(),
        });
    }
    for line in lines.drain() {
        match line.reply_to {
            ReplyTo::Http(_) => ready.push((line, Verdict::Admin)),
            ReplyTo::Player(player) => {
                ready.extend(access.admit(player, line, now, db.as_deref()));
            }
        }
    }
    let count = |outcome: &'static str| {
        counter!(telemetry::ADMIN_COMMANDS, "outcome" => outcome).increment(1);
    };
    for (
        AdminLine {
            actor,
            line,
            reply_to,
        },
        verdict,
    ) in ready
    {
        let refusal = match verdict {
            Verdict::Admin => None,
            Verdict::NotAdmin => Some("admin role required".to_owned()),
            Verdict::Banned => Some("this account is banned".to_owned()),
            Verdict::Unavailable(why) => Some(why),
        };
        if let Some(why) = refusal {
            count("refused");
            debug!(player = %actor.name, %line, %why, "admin line refused");
            Deferred::answer(&deferred.tx, reply_to, refuse(&why));
            continue;
        }
        count("run");
        let actor = Actor {
            role: Role::Admin,
            ..actor
        };
        let account = |change| AccountChange {
            db: db.as_deref(),
            deferred: &deferred.tx,
            actor: &actor,
            line: line.clone(),
            change,
        };
        let parsed = AdminCommand::parse(&line);
        let audited = !parsed.as_ref().is_ok_and(AdminCommand::is_read_only);
        let reply = match parsed {
            Err(error) => refuse(&error.to_string()),
            Ok(AdminCommand::Promote(name)) => {
                access.forget_standings();
                account(Change::Role(Role::Admin)).run(name, reply_to);
                continue;
            }
            Ok(AdminCommand::Demote(name)) => {
                access.forget_standings();
                account(Change::Role(Role::Player)).run(name, reply_to);
                continue;
            }
            Ok(AdminCommand::Ban(name)) => {
                access.forget_standings();
                world.banned.insert(&name);
                let _ = kick(&mut world, &name, ErrorCode::Banned, "banned by an admin");
                account(Change::Ban).run(name, reply_to);
                continue;
            }
            Ok(AdminCommand::Snapshot) => {
                request_snapshot(
                    snapshots.as_deref_mut(),
                    db.as_deref(),
                    &deferred.tx,
                    reply_to,
                    &actor,
                    line,
                );
                continue;
            }
            Ok(command) => execute(command, &mut world),
        };
        if audited {
            info!(admin = %actor.name, %line, ok = reply.ok, "admin command");
            if let Some(db) = &db {
                audit(db, &actor.name, &line, &reply);
            }
        }
        match reply_to {
            ReplyTo::Player(player) => {
                answers.write(ConsoleReply { player, reply });
            }
            ReplyTo::Http(sender) => {
                let _ = sender.send(reply);
            }
        }
    }
}

fn refuse(why: &str) -> AdminReply {
    AdminReply {
        ok: false,
        output: why.to_owned(),
        data: None,
    }
}

fn done(output: String) -> AdminReply {
    AdminReply {
        ok: true,
        output,
        data: None,
    }
}

/// A reply that also carries `data` for scripts (the HTTP answer's `data`).
fn done_with(output: String, data: &impl Serialize) -> AdminReply {
    AdminReply {
        ok: true,
        output,
        data: serde_json::to_value(data).ok(),
    }
}

/// Writes one audit row on the runtime.
fn audit(db: &AdminDb, who: &str, line: &str, reply: &AdminReply) {
    let (handle, who, line, reply) = (
        db.db.clone(),
        who.to_owned(),
        line.to_owned(),
        reply.clone(),
    );
    db.runtime.spawn(async move {
        if let Err(error) = handle.audit(&who, &line, reply.ok, &reply.output).await {
            warn!(%error, "cannot write the admin audit log");
        }
    });
}

fn execute(command: AdminCommand, world: &mut World) -> AdminReply {
    match command {
        AdminCommand::Help => done(HELP.to_owned()),
        AdminCommand::Status => status(world),
        AdminCommand::Pause => {
            world.clock_commands.write(ClockCommand::Pause);
            done("paused".into())
        }
        AdminCommand::Resume => {
            world.clock_commands.write(ClockCommand::Resume);
            done("resumed".into())
        }
        AdminCommand::TimeScale { scale, .. } if scale > world.config.tick.max_time_scale => {
            refuse(&format!(
                "time scale must be within 0..={}",
                world.config.tick.max_time_scale
            ))
        }
        AdminCommand::TimeScale { scale, forced } => {
            world
                .clock_commands
                .write(ClockCommand::SetTimeScale { scale, forced });
            if forced {
                done(format!("clock forced to x{scale}"))
            } else {
                done(format!("warp capped at x{scale}"))
            }
        }
        AdminCommand::Players => players(world),
        AdminCommand::Kick(name) => kick(world, &name, ErrorCode::Kicked, "kicked by an admin"),
        AdminCommand::Refuel(name) => service(world, &name, ShipAction::Refuel),
        AdminCommand::Reset(name) => service(world, &name, ShipAction::Reset),
        AdminCommand::Teleport {
            player,
            body,
            altitude_km,
        } => teleport(world, &player, &body, altitude_km),
        AdminCommand::Promote(_)
        | AdminCommand::Demote(_)
        | AdminCommand::Ban(_)
        | AdminCommand::Snapshot => refuse("this command runs on the database"),
    }
}

/// What `status` reports, also as data for scripts and the dashboard.
#[derive(Serialize)]
struct Status {
    tick: u64,
    game_time_s: f64,
    date: String,
    /// The rate the clock runs at (unless paused).
    time_scale: f64,
    /// The admin's time scale: the cap on players' requests, or the forced rate.
    warp_cap: f64,
    warp_forced: bool,
    /// Why the clock runs at `time_scale`, in words.
    warp_reason: String,
    paused: bool,
    players_online: usize,
    ships: usize,
    tick_p50_ms: f64,
    tick_p99_ms: f64,
    overruns: u64,
    dropped: u64,
    /// Seconds since the last snapshot was written (none yet: null).
    snapshot_age_s: Option<f64>,
    /// Whether the database answered its last ping (null where there is none).
    database_up: Option<bool>,
}

fn status(world: &World) -> AdminReply {
    let clock = &world.clock;
    let status = Status {
        tick: clock.tick,
        game_time_s: clock.game_time,
        date: CalendarTime::from_game_time(clock.game_time).to_string(),
        time_scale: clock.rate(),
        warp_cap: clock.time_scale,
        warp_forced: clock.forced,
        warp_reason: world.warp.as_ref().map_or_else(
            || "the admin's time scale".to_owned(),
            |warp| warp.reason.to_string(),
        ),
        paused: clock.paused,
        players_online: world.roster.0.len(),
        ships: world.ships.iter().count(),
        tick_p50_ms: world.stats.quantile(0.5).as_secs_f64() * 1e3,
        tick_p99_ms: world.stats.quantile(0.99).as_secs_f64() * 1e3,
        overruns: world.stats.overruns,
        dropped: world.stats.dropped,
        snapshot_age_s: world
            .bridge
            .as_ref()
            .and_then(|b| b.health.snapshot_age_s()),
        database_up: world.bridge.as_ref().map(|b| b.health.database_up()),
    };
    let text = format!(
        "tick {} | {} | warp x{} ({}; cap x{}) | {} | players online {} | ships {} | tick p50 {:.2} ms p99 {:.2} ms | overruns {} dropped {} | last snapshot {} | database {}",
        status.tick,
        status.date,
        status.time_scale,
        status.warp_reason,
        status.warp_cap,
        if status.paused { "paused" } else { "running" },
        status.players_online,
        status.ships,
        status.tick_p50_ms,
        status.tick_p99_ms,
        status.overruns,
        status.dropped,
        status
            .snapshot_age_s
            .map_or_else(|| "none yet".to_owned(), |age| format!("{age:.0} s ago")),
        match status.database_up {
            Some(true) => "up",
            Some(false) => "down",
            None => "none",
        },
    );
    done_with(text, &status)
}

/// A player online and their ship, as `players` reports them.
#[derive(Serialize)]
struct PlayerRow {
    name: String,
    id: u64,
    role: &'static str,
    /// The warp they ask for.
    warp_request: f64,
    /// The ship's throttle, fuel (kg) and flight state, when it has one.
    ship: Option<ShipRow>,
}

#[derive(Serialize)]
struct ShipRow {
    throttle: f64,
    fuel_kg: f64,
    flight: &'static str,
}

/// One line per player online: name, id, role, and their ship's throttle, fuel and
/// flight state (what an operator asks first when a player reports a problem).
fn players(world: &World) -> AdminReply {
    let mut rows: Vec<PlayerRow> = world
        .roster
        .0
        .iter()
        .map(|(id, p)| PlayerRow {
            name: p.name.clone(),
            id: *id,
            role: p.role.as_str(),
            warp_request: p.warp_request,
            ship: world
                .ships
                .iter()
                .find(|(_, owner, ..)| owner.player == *id)
                .map(|(_, _, throttle, fuel, flight)| ShipRow {
                    throttle: throttle.0,
                    fuel_kg: fuel.0,
                    flight: flight_word(flight),
                }),
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let ship = row.ship.as_ref().map_or_else(
                || "no ship".to_owned(),
                |ship| {
                    format!(
                        "throttle {:.0} %, fuel {:.0} kg, {}",
                        ship.throttle * 100.0,
                        ship.fuel_kg,
                        ship.flight
                    )
                },
            );
            format!(
                "{} ({}, {}, asks x{}): {ship}",
                row.name, row.id, row.role, row.warp_request
            )
        })
        .collect();
    let text = if lines.is_empty() {
        "no players online".into()
    } else {
        lines.join("\n")
    };
    done_with(text, &rows)
}

fn kick(world: &mut World, name: &str, code: ErrorCode, why: &str) -> AdminReply {
    let Some((player, online)) = world.roster.find(name) else {
        return refuse(&format!("{name} is not online"));
    };
    let name = online.name.clone();
    world.disconnects.write(DisconnectPlayer {
        player,
        code,
        reason: why.to_owned(),
    });
    done(format!("{name} disconnected"))
}

fn ship_of(world: &World, name: &str) -> Option<Entity> {
    world
        .ships
        .iter()
        .find(|(_, owner, ..)| owner.name.eq_ignore_ascii_case(name))
        .map(|(entity, ..)| entity)
}

fn service(world: &mut World, name: &str, action: ShipAction) -> AdminReply {
    let Some(ship) = ship_of(world, name) else {
        return refuse(&format!("{name} has no ship"));
    };
    world.ship_commands.write(ShipCommand { ship, action });
    done(format!("{action:?} sent to the ship of {name}").to_lowercase())
}

fn teleport(world: &mut World, name: &str, body: &str, altitude_km: f64) -> AdminReply {
    let Some(index) = world.bodies.catalog.index_of(body) else {
        return refuse(&format!("no body called {body}"));
    };
    let Some(ship) = ship_of(world, name) else {
        return refuse(&format!("{name} has no ship"));
    };
    let bodies = &world.bodies;
    let slot = circular_orbit(
        bodies.state.positions[index],
        bodies.state.velocities[index],
        bodies.state.gms[index],
        bodies.catalog.radii[index] + altitude_km * 1_000.0,
        0.0,
        0.0,
        0.0,
    );
    let body = bodies.catalog.names[index].clone();
    world.ship_commands.write(ShipCommand {
        ship,
        action: ShipAction::Teleport(slot),
    });
    done(format!(
        "{name} is in a circular orbit {altitude_km} km above {body}"
    ))
}

/// An account change the database makes.
#[derive(Clone, Copy, Debug)]
enum Change {
    Role(Role),
    Ban,
}

/// `promote`, `demote` and `ban`: a database write on the runtime, answered and
/// audited when it is done.
struct AccountChange<'a> {
    db: Option<&'a AdminDb>,
    deferred: &'a mpsc::UnboundedSender<Finished>,
    actor: &'a Actor,
    line: String,
    change: Change,
}

impl AccountChange<'_> {
    fn run(self, name: String, reply_to: ReplyTo) {
        let Some(db) = self.db else {
            let reply = refuse("no account database on this server");
            Deferred::answer(self.deferred, reply_to, reply);
            return;
        };
        let (handle, who, tx) = (
            db.db.clone(),
            self.actor.name.clone(),
            self.deferred.clone(),
        );
        let (line, change) = (self.line, self.change);
        db.runtime.spawn(async move {
            let result = match change {
                Change::Ban => handle.set_banned(&name, true).await,
                Change::Role(role) => handle.set_role(&name, role).await,
            };
            let _ = tx.send(Finished::AccountChanged);
            let reply = match (result, change) {
                (Ok(true), Change::Ban) => done(format!("{name} is banned")),
                (Ok(true), Change::Role(Role::Admin)) => done(format!("{name} is now an admin")),
                (Ok(true), Change::Role(Role::Player)) => done(format!("{name} is now a player")),
                (Ok(false), _) => refuse(&format!("no player called {name}")),
                (Err(error), _) => refuse(&format!("database error: {error}")),
            };
            info!(admin = %who, %line, ok = reply.ok, "admin command");
            if let Err(error) = handle.audit(&who, &line, reply.ok, &reply.output).await {
                warn!(%error, "cannot write the admin audit log");
            }
            Deferred::answer(&tx, reply_to, reply);
        });
    }
}

/// `snapshot`: asks the persistence plugin for a snapshot after this tick; the answer
/// (and the audit entry) comes when the writer has written it or first failed to.
fn request_snapshot(
    requests: Option<&mut SnapshotRequests>,
    db: Option<&AdminDb>,
    deferred: &mpsc::UnboundedSender<Finished>,
    reply_to: ReplyTo,
    actor: &Actor,
    line: String,
) {
    let Some(requests) = requests else {
        let reply = refuse("snapshots are not available on this server");
        Deferred::answer(deferred, reply_to, reply);
        return;
    };
    let (who, tx) = (actor.name.clone(), deferred.clone());
    let db = db.cloned();
    requests.request(Box::new(move |outcome: SnapshotOutcome| {
        let reply = match outcome {
            Ok(saved) => done(format!(
                "snapshot {} written: tick {}, {} ships, {} bytes, {:.0} ms",
                saved.id,
                saved.tick,
                saved.ships,
                saved.bytes,
                saved.duration.as_secs_f64() * 1e3
            )),
            Err(error) => refuse(&error),
        };
        info!(admin = %who, %line, ok = reply.ok, "admin command");
        if let Some(db) = &db {
            audit(db, &who, &line, &reply);
        }
        Deferred::answer(&tx, reply_to, reply);
    }));
}
