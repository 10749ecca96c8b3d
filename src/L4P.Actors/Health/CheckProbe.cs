using System.Net;
using System.Text;
using Akka.Actor;
using Akka.IO;
using L4P.Config;

namespace L4P.Health;

/// <summary>
/// One health check of one address, over Akka.IO: connect within the timeout; with <c>send</c>, write
/// it; with <c>expect</c>, read (at most 4 KiB) until the text appears. Reports once, then stops
/// (which closes the probe's socket).
/// </summary>
public sealed class CheckProbe : ActorBase, IWithTimers
{
    public sealed record Result(IPEndPoint Endpoint, bool Ok, string Detail);

    private sealed record TimedOut : Signal<TimedOut>;

    private const int MaxRead = 4096;
    private readonly IPEndPoint _endpoint;
    private readonly HealthCheckConfig _check;
    private readonly IActorRef _tcp;
    private string _received = "";
    private bool _reported;

    public CheckProbe(IPEndPoint endpoint, HealthCheckConfig check, IActorRef tcpManager)
    {
        _endpoint = endpoint;
        _check = check;
        _tcp = tcpManager;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IPEndPoint endpoint, HealthCheckConfig check, IActorRef tcpManager) =>
        Connections.FactoryProps.For(() => new CheckProbe(endpoint, check, tcpManager));

    protected override void PreStart()
    {
        Timers.StartSingleTimer(TimedOut.Instance, TimedOut.Instance, _check.Timeout);
        _tcp.Tell(new Tcp.Connect(_endpoint, null, null, _check.Timeout, pullMode: true));
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Connected when _check.Send is null && _check.Expect is null:
                Sender.Tell(Tcp.Close.Instance);
                Report(true, "connected");
                return true;
            case Tcp.Connected:
                Sender.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: false, useResumeWriting: false));
                if (_check.Send is { } send) Sender.Tell(Tcp.Write.Create(ByteString.FromString(send, Encoding.UTF8)));
                if (_check.Expect is null) Report(true, "connected and sent");
                else Sender.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Tcp.Received r:
                _received += r.Data.ToString(Encoding.UTF8);
                if (_received.Contains(_check.Expect!, StringComparison.Ordinal)) Report(true, "expected reply");
                else if (_received.Length >= MaxRead) Report(false, $"no '{_check.Expect}' in the first {MaxRead} bytes");
                else Sender.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Tcp.CommandFailed f:
                Report(false, f.Cause.HasValue ? f.Cause.Value.Message : "connect failed");
                return true;
            case Tcp.ConnectionClosed c:
                Report(false, _check.Expect is null ? $"closed: {c.Cause}" : $"closed before '{_check.Expect}'");
                return true;
            case TimedOut:
                Report(false, $"no answer within {Durations.Format(_check.Timeout)}");
                return true;
            default:
                return false;
        }
    }

    private void Report(bool ok, string detail)
    {
        if (_reported) return;
        _reported = true;
        Context.Parent.Tell(new Result(_endpoint, ok, detail));
        Context.Stop(Self);
    }
}
