"""The Go types ``docker inspect -f`` runs on (docker 28's client), for containers and images.

Declared from docker/docker's api/types as docker/cli 28.2 vendors them: every field in
its order, with its JSON name and ``omitempty`` (see :mod:`.gotypes` for the notation).
Which values are structs (``{a b}``), which maps (``map[k:v]``), which pointers (``<nil>``
when JSON omits them, an address inside another value) follows from these declarations.

:func:`typed` recognises a container or image document and decodes it; other documents
(volumes, networks) have no declaration here and stay plain JSON.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from bot.cli_output.formatters.gotypes import Schema, decode
from bot.cli_output.gotemplate.values import GoStructValue

_NAMED = {
    "nat.Port": "string",
    "nat.PortMap": "map[nat.Port][]nat.PortBinding",
    "nat.PortSet": "map[nat.Port]struct{}",
    "strslice.StrSlice": "[]string",
    "digest.Digest": "string",
    "image.ManifestKind": "string",
    "mount.Type": "string",
    "mount.Propagation": "string",
    "mount.Consistency": "string",
    **{
        f"container.{name}": "string"
        for name in (
            "RestartPolicyMode", "NetworkMode", "IpcMode", "CgroupSpec", "PidMode", "UTSMode", "UsernsMode",
            "CgroupnsMode", "Isolation",
        )
    },
}  # fmt: skip

_CONTAINER = {
    "container.InspectResponse": """
        *container.ContainerJSONBase
        Mounts []container.MountPoint
        Config *container.Config
        NetworkSettings *container.NetworkSettings
        ImageManifestDescriptor *v1.Descriptor omitempty
    """,
    "container.ContainerJSONBase": """
        ID string json=Id
        Created string
        Path string
        Args []string
        State *container.State
        Image string
        ResolvConfPath string
        HostnamePath string
        HostsPath string
        LogPath string
        Name string
        RestartCount int
        Driver string
        Platform string
        MountLabel string
        ProcessLabel string
        AppArmorProfile string
        ExecIDs []string
        HostConfig *container.HostConfig
        GraphDriver storage.DriverData
        SizeRw *int64 omitempty
        SizeRootFs *int64 omitempty
    """,
    "container.State": """
        Status string
        Running bool
        Paused bool
        Restarting bool
        OOMKilled bool
        Dead bool
        Pid int
        ExitCode int
        Error string
        StartedAt string
        FinishedAt string
        Health *container.Health omitempty
    """,
    "container.Health": """
        Status string
        FailingStreak int
        Log []*container.HealthcheckResult
    """,
    "container.HealthcheckResult": """
        Start time.Time
        End time.Time
        ExitCode int
        Output string
    """,
    "container.MountPoint": """
        Type mount.Type omitempty
        Name string omitempty
        Source string
        Destination string
        Driver string omitempty
        Mode string
        RW bool
        Propagation mount.Propagation
    """,
    "container.Config": """
        Hostname string
        Domainname string
        User string
        AttachStdin bool
        AttachStdout bool
        AttachStderr bool
        ExposedPorts nat.PortSet omitempty
        Tty bool
        OpenStdin bool
        StdinOnce bool
        Env []string
        Cmd strslice.StrSlice
        Healthcheck *v1.HealthcheckConfig omitempty
        ArgsEscaped bool omitempty
        Image string
        Volumes map[string]struct{}
        WorkingDir string
        Entrypoint strslice.StrSlice
        NetworkDisabled bool omitempty
        MacAddress string omitempty
        OnBuild []string
        Labels map[string]string
        StopSignal string omitempty
        StopTimeout *int omitempty
        Shell strslice.StrSlice omitempty
    """,
    "v1.HealthcheckConfig": """
        Test []string omitempty
        Interval time.Duration omitempty
        Timeout time.Duration omitempty
        StartPeriod time.Duration omitempty
        StartInterval time.Duration omitempty
        Retries int omitempty
    """,
    "container.HostConfig": """
        Binds []string
        ContainerIDFile string
        LogConfig container.LogConfig
        NetworkMode container.NetworkMode
        PortBindings nat.PortMap
        RestartPolicy container.RestartPolicy
        AutoRemove bool
        VolumeDriver string
        VolumesFrom []string
        ConsoleSize [2]uint
        Annotations map[string]string omitempty
        CapAdd strslice.StrSlice
        CapDrop strslice.StrSlice
        CgroupnsMode container.CgroupnsMode
        DNS []string json=Dns
        DNSOptions []string json=DnsOptions
        DNSSearch []string json=DnsSearch
        ExtraHosts []string
        GroupAdd []string
        IpcMode container.IpcMode
        Cgroup container.CgroupSpec
        Links []string
        OomScoreAdj int
        PidMode container.PidMode
        Privileged bool
        PublishAllPorts bool
        ReadonlyRootfs bool
        SecurityOpt []string
        StorageOpt map[string]string omitempty
        Tmpfs map[string]string omitempty
        UTSMode container.UTSMode
        UsernsMode container.UsernsMode
        ShmSize int64
        Sysctls map[string]string omitempty
        Runtime string omitempty
        Isolation container.Isolation
        container.Resources
        Mounts []mount.Mount omitempty
        MaskedPaths []string
        ReadonlyPaths []string
        Init *bool omitempty
    """,
    "container.LogConfig": """
        Type string
        Config map[string]string
    """,
    "container.RestartPolicy": """
        Name container.RestartPolicyMode
        MaximumRetryCount int
    """,
    "container.Resources": """
        CPUShares int64 json=CpuShares
        Memory int64
        NanoCPUs int64 json=NanoCpus
        CgroupParent string
        BlkioWeight uint16
        BlkioWeightDevice []*blkiodev.WeightDevice
        BlkioDeviceReadBps []*blkiodev.ThrottleDevice
        BlkioDeviceWriteBps []*blkiodev.ThrottleDevice
        BlkioDeviceReadIOps []*blkiodev.ThrottleDevice
        BlkioDeviceWriteIOps []*blkiodev.ThrottleDevice
        CPUPeriod int64 json=CpuPeriod
        CPUQuota int64 json=CpuQuota
        CPURealtimePeriod int64 json=CpuRealtimePeriod
        CPURealtimeRuntime int64 json=CpuRealtimeRuntime
        CpusetCpus string
        CpusetMems string
        Devices []container.DeviceMapping
        DeviceCgroupRules []string
        DeviceRequests []container.DeviceRequest
        KernelMemory int64 omitempty
        KernelMemoryTCP int64 omitempty
        MemoryReservation int64
        MemorySwap int64
        MemorySwappiness *int64
        OomKillDisable *bool
        PidsLimit *int64
        Ulimits []*units.Ulimit
        CPUCount int64 json=CpuCount
        CPUPercent int64 json=CpuPercent
        IOMaximumIOps uint64
        IOMaximumBandwidth uint64
    """,
    "blkiodev.WeightDevice": """
        Path string
        Weight uint16
    """,
    "blkiodev.ThrottleDevice": """
        Path string
        Rate uint64
    """,
    "container.DeviceMapping": """
        PathOnHost string
        PathInContainer string
        CgroupPermissions string
    """,
    "container.DeviceRequest": """
        Driver string
        Count int
        DeviceIDs []string
        Capabilities [][]string
        Options map[string]string
    """,
    "units.Ulimit": """
        Name string
        Hard int64
        Soft int64
    """,
    "mount.Mount": """
        Type mount.Type omitempty
        Source string omitempty
        Target string omitempty
        ReadOnly bool omitempty
        Consistency mount.Consistency omitempty
        BindOptions *mount.BindOptions omitempty
        VolumeOptions *mount.VolumeOptions omitempty
        ImageOptions *mount.ImageOptions omitempty
        TmpfsOptions *mount.TmpfsOptions omitempty
        ClusterOptions *mount.ClusterOptions omitempty
    """,
    "mount.BindOptions": """
        Propagation mount.Propagation omitempty
        NonRecursive bool omitempty
        CreateMountpoint bool omitempty
        ReadOnlyNonRecursive bool omitempty
        ReadOnlyForceRecursive bool omitempty
    """,
    "mount.VolumeOptions": """
        NoCopy bool omitempty
        Labels map[string]string omitempty
        Subpath string omitempty
        DriverConfig *mount.Driver omitempty
    """,
    "mount.Driver": """
        Name string omitempty
        Options map[string]string omitempty
    """,
    "mount.ImageOptions": """
        Subpath string omitempty
    """,
    "mount.TmpfsOptions": """
        SizeBytes int64 omitempty
        Mode os.FileMode omitempty
        Options [][]string omitempty
    """,
    "mount.ClusterOptions": "",
    "container.NetworkSettings": """
        container.NetworkSettingsBase
        container.DefaultNetworkSettings
        Networks map[string]*network.EndpointSettings
    """,
    "container.NetworkSettingsBase": """
        Bridge string
        SandboxID string
        SandboxKey string
        Ports nat.PortMap
        HairpinMode bool
        LinkLocalIPv6Address string
        LinkLocalIPv6PrefixLen int
        SecondaryIPAddresses []network.Address
        SecondaryIPv6Addresses []network.Address
    """,
    "container.DefaultNetworkSettings": """
        EndpointID string
        Gateway string
        GlobalIPv6Address string
        GlobalIPv6PrefixLen int
        IPAddress string
        IPPrefixLen int
        IPv6Gateway string
        MacAddress string
    """,
    "network.Address": """
        Addr string
        PrefixLen int
    """,
    "network.EndpointSettings": """
        IPAMConfig *network.EndpointIPAMConfig
        Links []string
        Aliases []string
        MacAddress string
        DriverOpts map[string]string
        GwPriority int
        NetworkID string
        EndpointID string
        Gateway string
        IPAddress string
        IPPrefixLen int
        IPv6Gateway string
        GlobalIPv6Address string
        GlobalIPv6PrefixLen int
        DNSNames []string
    """,
    "network.EndpointIPAMConfig": """
        IPv4Address string omitempty
        IPv6Address string omitempty
        LinkLocalIPs []string omitempty
    """,
    "nat.PortBinding": """
        HostIP string json=HostIp
        HostPort string
    """,
    "storage.DriverData": """
        Data map[string]string
        Name string
    """,
    "v1.Descriptor": """
        MediaType string json=mediaType
        Digest digest.Digest json=digest
        Size int64 json=size
        URLs []string json=urls omitempty
        Annotations map[string]string json=annotations omitempty
        Data string json=data omitempty
        Platform *v1.Platform json=platform omitempty
        ArtifactType string json=artifactType omitempty
    """,
    "v1.Platform": """
        Architecture string json=architecture
        OS string json=os
        OSVersion string json=os.version omitempty
        OSFeatures []string json=os.features omitempty
        Variant string json=variant omitempty
    """,
    # docker ps's {{.Platform}}: ocispec.Platform with a String() (platforms.FormatAll)
    "formatter.Platform": """
        v1.Platform
    """,
}

_IMAGE = {
    "image.InspectResponse": """
        ID string json=Id
        RepoTags []string
        RepoDigests []string
        Parent string
        Comment string
        Created string omitempty
        Container string omitempty
        ContainerConfig *container.Config omitempty
        DockerVersion string
        Author string
        Config *v1.DockerOCIImageConfig
        Architecture string
        Variant string omitempty
        Os string
        OsVersion string omitempty
        Size int64
        VirtualSize int64 omitempty
        GraphDriver storage.DriverData
        RootFS image.RootFS
        Metadata image.Metadata
        Descriptor *v1.Descriptor omitempty
        Manifests []image.ManifestSummary omitempty
    """,
    "v1.DockerOCIImageConfig": """
        v1.ImageConfig
        v1.DockerOCIImageConfigExt
    """,
    "v1.ImageConfig": """
        User string omitempty
        ExposedPorts map[string]struct{} omitempty
        Env []string omitempty
        Entrypoint []string omitempty
        Cmd []string omitempty
        Volumes map[string]struct{} omitempty
        WorkingDir string omitempty
        Labels map[string]string omitempty
        StopSignal string omitempty
        ArgsEscaped bool omitempty
    """,
    "v1.DockerOCIImageConfigExt": """
        Healthcheck *v1.HealthcheckConfig omitempty
        OnBuild []string omitempty
        Shell []string omitempty
    """,
    "image.RootFS": """
        Type string omitempty
        Layers []string omitempty
    """,
    "image.Metadata": """
        LastTagTime time.Time omitempty
    """,
    "image.ManifestSummary": """
        ID string
        Descriptor v1.Descriptor
        Available bool
        Size image.manifestSize
        Kind image.ManifestKind
        ImageData *image.ImageProperties omitempty
        AttestationData *image.AttestationProperties omitempty
    """,
    # anonymous structs in Go; named here only so they can be declared
    "image.manifestSize": """
        Content int64
        Total int64
    """,
    "image.ImageProperties": """
        Platform v1.Platform
        Size image.unpackedSize
        Containers []string
    """,
    "image.unpackedSize": """
        Unpacked int64
    """,
    "image.AttestationProperties": """
        For digest.Digest
    """,
}


def _ulimit(value: GoStructValue) -> str:
    # go-units' (*Ulimit).String
    return f"{value.fields['Name']}={value.fields['Soft']}:{value.fields['Hard']}"


def format_platform(value: GoStructValue) -> str:
    """containerd's platforms.FormatAll: ``linux/arm64/v8``, ``windows(10.0.20348)/amd64``, ``unknown``."""
    inner = value.field("OS"), value.field("OSVersion"), value.field("Architecture"), value.field("Variant")
    os_name, version, arch, variant = (str(v) if isinstance(v, str) else "" for v in inner)
    if not os_name:
        return "unknown"
    head = f"{os_name}({version})" if version else os_name
    return posixpath.normpath("/".join(p for p in (head, arch, variant) if p))


SCHEMA = Schema(
    {**_CONTAINER, **_IMAGE}, _NAMED, stringers={"units.Ulimit": _ulimit, "formatter.Platform": format_platform}
)


def is_container(doc: Mapping[str, object]) -> bool:
    return all(key in doc for key in ("Id", "State", "HostConfig", "Config"))


def is_image(doc: Mapping[str, object]) -> bool:
    return all(key in doc for key in ("Id", "RootFS", "RepoTags"))


def typed(doc: object) -> object | None:
    """The container or image document as the CLI's Go value; None for any other document."""
    if not isinstance(doc, Mapping):
        return None
    if is_container(doc):
        return decode(SCHEMA, "container.InspectResponse", doc)
    if is_image(doc):
        return decode(SCHEMA, "image.InspectResponse", doc)
    return None
