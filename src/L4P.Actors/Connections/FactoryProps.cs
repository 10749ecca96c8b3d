using Akka.Actor;

namespace L4P.Connections;

/// <summary>
/// Props from a plain factory delegate. <c>Props.Create(() => new X(a, b))</c> takes an expression tree
/// that Akka evaluates per call (the JIT stayed busy under load: README, Performance); a delegate is just
/// a call. Used for the per-connection actors.
/// </summary>
internal static class FactoryProps
{
    public static Props For<TActor>(Func<TActor> factory) where TActor : ActorBase =>
        Props.CreateBy(new Producer<TActor>(factory));

    private sealed class Producer<TActor>(Func<TActor> factory) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);
        public ActorBase Produce() => factory();
        public void Release(ActorBase actor) { }
    }
}
