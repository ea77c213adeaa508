//! Networking: the renet server with native UDP and WebSocket clients, sessions,
//! message handling and state sync.

pub mod interest;
pub mod session;
pub mod sync;
pub mod transport;

use bevy::prelude::*;
use bevy_renet2::prelude::{RenetReceive, RenetSend, RenetServer, RenetServerPlugin};
use galaxy_shared::protocol::connection_config;

use transport::GuardedTransport;

pub use session::Sessions;

/// Adds networking to an app that already has the simulation plugins and a
/// [`GuardedTransport`] resource (bound beforehand, so start-up fails early and
/// clearly on a taken port).
pub fn plugin(app: &mut App) {
    app.add_plugins(RenetServerPlugin)
        .insert_resource(RenetServer::new(connection_config()))
        .init_resource::<Sessions>()
        .init_resource::<session::Leaving>()
        .add_systems(
            PreUpdate,
            (receive_packets
                .before(RenetServerPlugin::emit_server_events_system)
                .after(RenetServerPlugin::update_system))
            .in_set(RenetReceive),
        )
        .add_systems(
            PreUpdate,
            (session::handle_connections, session::read_client_messages)
                .chain()
                .after(RenetReceive),
        )
        .add_systems(
            PostUpdate,
            (
                session::forward_ship_events,
                session::forward_plans,
                session::announce_clock_changes,
                session::forward_console_replies,
                session::carry_out_disconnects,
                sync::send_states,
                send_packets.in_set(RenetSend),
            )
                .chain(),
        )
        .add_systems(Last, disconnect_on_exit);
}

fn receive_packets(
    time: Res<Time<Real>>,
    mut transport: ResMut<GuardedTransport>,
    mut server: ResMut<RenetServer>,
) {
    transport.receive(time.delta(), &mut server);
}

fn send_packets(mut transport: ResMut<GuardedTransport>, mut server: ResMut<RenetServer>) {
    transport.send(&mut server);
}

fn disconnect_on_exit(
    mut exits: MessageReader<AppExit>,
    mut transport: ResMut<GuardedTransport>,
    mut server: ResMut<RenetServer>,
) {
    if exits.read().next().is_some() {
        transport.disconnect_all(&mut server);
    }
}
