namespace L4P.Testing;

/// <summary>
/// The proxy's clock (<c>ProxyServices.Time</c>) read from the simulation's virtual now, so elapsed times
/// (the idle check, the connect timeout left) agree with the timers that fire when the test advances time.
/// </summary>
internal sealed class SchedulerClock(SimulatedScheduler scheduler) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => scheduler.Now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => scheduler.Now.UtcTicks;
}
