using Akka.IO;

namespace L4P.Connections;

/// <summary>Akka.IO settings with another frame size, for a Bind or a Connect.</summary>
public static class TcpFrames
{
    /// <summary><paramref name="settings"/> with <paramref name="frameSize"/>; Akka.IO wants its buffer sizes at least that large.</summary>
    public static TcpSettings WithFrameSize(TcpSettings settings, int frameSize) => settings with
    {
        MaxFrameSizeBytes = frameSize,
        ReceiveBufferSize = Math.Max(settings.ReceiveBufferSize, frameSize),
        SendBufferSize = Math.Max(settings.SendBufferSize, frameSize),
    };
}
