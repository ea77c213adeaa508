//! A native WebSocket client socket for netcode, speaking what renet2's WebSocket
//! server expects: the connection request travels in the upgrade URL's `creq`
//! query parameter, then every netcode packet is one binary message.
//!
//! renet2's own WebSocket client runs only in a browser; this lets headless bots
//! exercise the browser transport end to end.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream};

use renet2_netcode::{ClientSocket, NetcodeTransportError};
use tungstenite::protocol::WebSocket;
use tungstenite::{Message, client};

/// Query parameter that carries the connection request.
const CONNECT_REQUEST_PARAM: &str = "creq";

/// Connects lazily: the first packet netcode sends (the connection request) opens
/// the socket.
#[derive(Debug)]
pub struct WsClientSocket {
    server: SocketAddr,
    socket: Option<WebSocket<TcpStream>>,
    closed: bool,
}

impl WsClientSocket {
    /// A socket for the server's WebSocket address.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            socket: None,
            closed: false,
        }
    }

    fn open(&mut self, request: &[u8]) -> io::Result<()> {
        let url = format!(
            "ws://{}/?{}={}",
            self.server,
            CONNECT_REQUEST_PARAM,
            urlencoding::encode_binary(request)
        );
        let stream = TcpStream::connect(self.server)?;
        stream.set_nodelay(true)?;
        let (socket, _) =
            client(url.as_str(), stream).map_err(|e| io::Error::other(e.to_string()))?;
        socket.get_ref().set_nonblocking(true)?;
        self.socket = Some(socket);
        Ok(())
    }
}

impl ClientSocket for WsClientSocket {
    fn is_encrypted(&self) -> bool {
        false
    }

    fn is_reliable(&self) -> bool {
        true
    }

    fn addr(&self) -> io::Result<SocketAddr> {
        Err(io::Error::from(ErrorKind::AddrNotAvailable))
    }

    fn is_closed(&mut self) -> bool {
        self.closed
    }

    fn close(&mut self) {
        if let Some(socket) = &mut self.socket {
            let _ = socket.close(None);
            let _ = socket.flush();
        }
        self.closed = true;
    }

    fn preupdate(&mut self) {}

    fn try_recv(&mut self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let Some(socket) = &mut self.socket else {
            return Err(ErrorKind::WouldBlock.into());
        };
        loop {
            match socket.read() {
                Ok(Message::Binary(data)) if data.len() <= buffer.len() => {
                    buffer[..data.len()].copy_from_slice(&data);
                    return Ok((data.len(), self.server));
                }
                Ok(Message::Binary(_)) => return Err(ErrorKind::InvalidData.into()),
                Ok(Message::Close(_)) => {
                    self.closed = true;
                    return Err(ErrorKind::ConnectionAborted.into());
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    return Err(e);
                }
                Err(e) => {
                    self.closed = true;
                    return Err(io::Error::new(ErrorKind::ConnectionAborted, e.to_string()));
                }
            }
        }
    }

    fn postupdate(&mut self) {
        if let Some(socket) = &mut self.socket {
            let _ = socket.flush();
        }
    }

    fn send(&mut self, addr: SocketAddr, packet: &[u8]) -> Result<(), NetcodeTransportError> {
        if self.closed || addr != self.server {
            return Err(io::Error::from(ErrorKind::ConnectionAborted).into());
        }
        let Some(socket) = &mut self.socket else {
            if renetcode2::Packet::packet_type_from_buffer(packet)?
                == renetcode2::PacketType::ConnectionRequest
            {
                self.open(packet)?;
            }
            return Ok(());
        };
        match socket.send(Message::Binary(packet.to_vec().into())) {
            Ok(()) => Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => {
                self.closed = true;
                Err(io::Error::new(ErrorKind::ConnectionAborted, e.to_string()).into())
            }
        }
    }
}
