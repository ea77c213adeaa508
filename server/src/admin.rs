//! Admin commands: one executor for the in-game console and the HTTP API.
//!
//! Lines arrive as [`AdminLine`] messages (from game clients) or through the
//! bridge's admin queue (from HTTP). Each is checked for the admin role, parsed with
//! the shared grammar, run, answered and logged with who ran it; database-backed
//! commands (`promote`, `ban`) finish on the tokio runtime and answer from there;
//! `snapshot` answers once the writer has written it (or first failed to).

use std::sync::atomic::Ordering;

use bevy::prelude::*;
use bevy_renet2::prelude::RenetServer;
use galaxy_shared::admin::{AdminCommand, HELP};
use galaxy_shared::components::{AngularVelocity, Attitude, FlightState, Position, Ship, Velocity};
use galaxy_shared::protocol::Role;
use galaxy_shared::units::CalendarTime;
use renet2::ClientId;
use tokio::sync::{mpsc, oneshot};

use crate::bridge::{Actor, AdminInbox, AdminReply, Bridge};
use crate::config::Config;
use crate::db::Db;
use crate::ephemeris::Bodies;
use crate::net::Sessions;
use crate::persistence::{SnapshotOutcome, SnapshotRequests};
use crate::ships::flight::PositionCarry;
use crate::ships::spawn::circular_orbit;
use crate::ships::{Owner, ShipAction, ShipCommand};
use crate::tick::{ClockCommand, SimClock, TickStats};

pub(super) fn plugin(app: &mut App) {
    let (deferred_tx, deferred_rx) = mpsc::unbounded_channel();
    app.add_message::<AdminLine>()
        .add_message::<AdminAnswer>()
        .insert_resource(Deferred {
            tx: deferred_tx,
            rx: deferred_rx,
        })
        .add_systems(
            Update,
            (queue_http_requests, run_admin_lines, answer_deferred).chain(),
        );
}

/// Where an admin answer goes.
#[derive(Debug)]
pub enum ReplyTo {
    /// A game client's console.
    Client(ClientId),
    /// An HTTP request waiting on this.
    Http(oneshot::Sender<AdminReply>),
}

/// One admin line to run.
#[derive(Message, Debug)]
pub struct AdminLine {
    /// Who typed it.
    pub actor: Actor,
    /// The line.
    pub line: String,
    /// Where the answer goes.
    pub reply_to: ReplyTo,
}

/// An answer for a game client's console.
#[derive(Message, Clone, Debug)]
pub struct AdminAnswer {
    /// The client.
    pub client: ClientId,
    /// The answer.
    pub reply: AdminReply,
}

/// The database and the runtime that talks to it, for `promote` and `ban`.
#[derive(Resource, Clone)]
pub struct AdminDb {
    /// Accounts and audit log.
    pub db: Db,
    /// Where database work runs.
    pub runtime: tokio::runtime::Handle,
}

/// Answers finished off the main thread, for game clients.
#[derive(Resource)]
struct Deferred {
    tx: mpsc::UnboundedSender<(ClientId, AdminReply)>,
    rx: mpsc::UnboundedReceiver<(ClientId, AdminReply)>,
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

fn answer_deferred(mut deferred: ResMut<Deferred>, mut answers: MessageWriter<AdminAnswer>) {
    while let Ok((client, reply)) = deferred.rx.try_recv() {
        answers.write(AdminAnswer { client, reply });
    }
}

/// What the executor may touch.
#[derive(bevy::ecs::system::SystemParam)]
struct World<'w, 's> {
    config: Res<'w, Config>,
    clock: Res<'w, SimClock>,
    stats: Res<'w, TickStats>,
    bodies: Res<'w, Bodies>,
    sessions: Option<Res<'w, Sessions>>,
    server: Option<ResMut<'w, RenetServer>>,
    clock_commands: MessageWriter<'w, ClockCommand>,
    ship_commands: MessageWriter<'w, ShipCommand>,
    ships: Query<
        'w,
        's,
        (
            Entity,
            &'static Owner,
            &'static mut Position,
            &'static mut PositionCarry,
            &'static mut Velocity,
            &'static mut Attitude,
            &'static mut AngularVelocity,
            &'static mut FlightState,
        ),
        With<Ship>,
    >,
}

fn run_admin_lines(
    mut lines: ResMut<Messages<AdminLine>>,
    mut world: World,
    mut answers: MessageWriter<AdminAnswer>,
    bridge: Option<Res<Bridge>>,
    db: Option<Res<AdminDb>>,
    deferred: Res<Deferred>,
    mut snapshots: Option<ResMut<SnapshotRequests>>,
) {
    for AdminLine {
        actor,
        line,
        reply_to,
    } in lines.drain()
    {
        if let Some(bridge) = &bridge {
            bridge
                .metrics
                .admin_commands
                .fetch_add(1, Ordering::Relaxed);
        }
        let reply = if actor.role != Role::Admin {
            refuse("admin role required")
        } else {
            match AdminCommand::parse(&line) {
                Err(error) => refuse(&error.to_string()),
                Ok(AdminCommand::Promote(name)) => {
                    account_change(
                        db.as_deref(),
                        &deferred,
                        reply_to,
                        &actor,
                        line,
                        name,
                        false,
                    );
                    continue;
                }
                Ok(AdminCommand::Snapshot) => {
                    request_snapshot(
                        snapshots.as_deref_mut(),
                        db.as_deref(),
                        &deferred,
                        reply_to,
                        &actor,
                        line,
                    );
                    continue;
                }
                Ok(AdminCommand::Ban(name)) => {
                    kick(&mut world, &name, "banned");
                    account_change(db.as_deref(), &deferred, reply_to, &actor, line, name, true);
                    continue;
                }
                Ok(command) => execute(command, &mut world),
            }
        };
        info!(admin = %actor.name, role = actor.role.as_str(), %line, ok = reply.ok, "admin command");
        if let Some(db) = &db {
            let (db_handle, who, line, reply) = (
                db.db.clone(),
                actor.name.clone(),
                line.clone(),
                reply.clone(),
            );
            db.runtime.spawn(async move {
                if let Err(error) = db_handle.audit(&who, &line, reply.ok, &reply.output).await {
                    warn!(%error, "cannot write the admin audit log");
                }
            });
        }
        match reply_to {
            ReplyTo::Client(client) => {
                answers.write(AdminAnswer { client, reply });
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
    }
}

fn done(output: String) -> AdminReply {
    AdminReply { ok: true, output }
}

fn execute(command: AdminCommand, world: &mut World) -> AdminReply {
    match command {
        AdminCommand::Help => done(HELP.to_owned()),
        AdminCommand::Status => done(status(world)),
        AdminCommand::Pause => {
            world.clock_commands.write(ClockCommand::Pause);
            done("paused".into())
        }
        AdminCommand::Resume => {
            world.clock_commands.write(ClockCommand::Resume);
            done("resumed".into())
        }
        AdminCommand::TimeScale(scale) if scale > world.config.tick.max_time_scale => {
            refuse(&format!(
                "time scale must be within 0..={}",
                world.config.tick.max_time_scale
            ))
        }
        AdminCommand::TimeScale(scale) => {
            world
                .clock_commands
                .write(ClockCommand::SetTimeScale(scale));
            done(format!("time scale {scale}"))
        }
        AdminCommand::Players => done(players(world)),
        AdminCommand::Kick(name) => kick(world, &name, "kicked by an admin"),
        AdminCommand::Refuel(name) => service(world, &name, ShipAction::Refuel),
        AdminCommand::Reset(name) => service(world, &name, ShipAction::Reset),
        AdminCommand::Teleport {
            player,
            body,
            altitude_km,
        } => teleport(world, &player, &body, altitude_km),
        AdminCommand::Promote(_) | AdminCommand::Ban(_) | AdminCommand::Snapshot => {
            refuse("this command runs on the database")
        }
    }
}

fn status(world: &World) -> String {
    let clock = &world.clock;
    format!(
        "tick {} | {} | scale {} | {} | players online {} | ships {} | tick p50 {:.2} ms p99 {:.2} ms | overruns {} dropped {}",
        clock.tick,
        CalendarTime::from_game_time(clock.game_time),
        clock.time_scale,
        if clock.paused { "paused" } else { "running" },
        world.sessions.as_ref().map_or(0, |s| s.0.len()),
        world.ships.iter().count(),
        world.stats.quantile(0.5).as_secs_f64() * 1e3,
        world.stats.quantile(0.99).as_secs_f64() * 1e3,
        world.stats.overruns,
        world.stats.dropped,
    )
}

fn players(world: &World) -> String {
    let Some(sessions) = &world.sessions else {
        return "no players online".into();
    };
    let mut names: Vec<String> = sessions
        .0
        .values()
        .map(|s| format!("{} ({}, {})", s.name, s.player, s.role.as_str()))
        .collect();
    names.sort();
    if names.is_empty() {
        "no players online".into()
    } else {
        names.join("\n")
    }
}

fn kick(world: &mut World, name: &str, why: &str) -> AdminReply {
    let client = world.sessions.as_ref().and_then(|s| s.client_of(name));
    match (client, world.server.as_mut()) {
        (Some(client), Some(server)) => {
            crate::net::session::send(
                server,
                client,
                galaxy_shared::protocol::CHANNEL_RELIABLE,
                &galaxy_shared::protocol::ServerMessage::Error {
                    code: galaxy_shared::protocol::ErrorCode::Kicked,
                    message: why.to_owned(),
                },
            );
            server.disconnect(client);
            done(format!("{name} disconnected"))
        }
        _ => refuse(&format!("{name} is not online")),
    }
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
    let Ok((_, _, mut position, mut carry, mut velocity, mut attitude, mut rate, mut flight)) =
        world.ships.get_mut(ship)
    else {
        return refuse(&format!("{name} has no ship"));
    };
    position.0 = slot.position;
    carry.0 = glam::DVec3::ZERO;
    velocity.0 = slot.velocity;
    attitude.0 = slot.attitude;
    rate.0 = glam::DVec3::ZERO;
    *flight.bypass_change_detection() = FlightState::Flying;
    done(format!(
        "{name} is in a circular orbit {altitude_km} km above {}",
        bodies.catalog.names[index]
    ))
}

/// `promote` and `ban`: a database write on the runtime, answered and audited when
/// it is done.
fn account_change(
    db: Option<&AdminDb>,
    deferred: &Deferred,
    reply_to: ReplyTo,
    actor: &Actor,
    line: String,
    name: String,
    ban: bool,
) {
    let Some(db) = db else {
        let reply = refuse("no account database on this server");
        match reply_to {
            ReplyTo::Client(client) => {
                let _ = deferred.tx.send((client, reply));
            }
            ReplyTo::Http(sender) => {
                let _ = sender.send(reply);
            }
        }
        return;
    };
    let (handle, who, deferred_tx) = (db.db.clone(), actor.name.clone(), deferred.tx.clone());
    db.runtime.spawn(async move {
        let result = if ban {
            handle.set_banned(&name, true).await
        } else {
            handle.set_role(&name, Role::Admin).await
        };
        let reply = match result {
            Ok(true) if ban => done(format!("{name} is banned")),
            Ok(true) => done(format!("{name} is now an admin")),
            Ok(false) => refuse(&format!("no player called {name}")),
            Err(error) => refuse(&format!("database error: {error}")),
        };
        info!(admin = %who, %line, ok = reply.ok, "admin command");
        if let Err(error) = handle.audit(&who, &line, reply.ok, &reply.output).await {
            warn!(%error, "cannot write the admin audit log");
        }
        match reply_to {
            ReplyTo::Client(client) => {
                let _ = deferred_tx.send((client, reply));
            }
            ReplyTo::Http(sender) => {
                let _ = sender.send(reply);
            }
        }
    });
}

/// `snapshot`: asks the persistence plugin for a snapshot after this tick; the answer
/// (and the audit entry) comes when the writer has written it or first failed to.
fn request_snapshot(
    requests: Option<&mut SnapshotRequests>,
    db: Option<&AdminDb>,
    deferred: &Deferred,
    reply_to: ReplyTo,
    actor: &Actor,
    line: String,
) {
    let deferred_tx = deferred.tx.clone();
    let send = move |reply_to: ReplyTo, reply: AdminReply| match reply_to {
        ReplyTo::Client(client) => {
            let _ = deferred_tx.send((client, reply));
        }
        ReplyTo::Http(sender) => {
            let _ = sender.send(reply);
        }
    };
    let Some(requests) = requests else {
        send(
            reply_to,
            refuse("snapshots are not available on this server"),
        );
        return;
    };
    let who = actor.name.clone();
    let audit = db.map(|db| (db.db.clone(), db.runtime.clone()));
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
        if let Some((handle, runtime)) = audit {
            let (ok, output) = (reply.ok, reply.output.clone());
            runtime.spawn(async move {
                if let Err(error) = handle.audit(&who, &line, ok, &output).await {
                    warn!(%error, "cannot write the admin audit log");
                }
            });
        }
        send(reply_to, reply);
    }));
}
