from __future__ import annotations

from pkgutil import extend_path
__path__ = extend_path(__path__, __name__)

import abc
import builtins
import datetime
import enum
import typing

import jsii
import publication
import typing_extensions

from jsii._type_checking import cached_type_hints, check_type


from ._jsii import *

class _LazyImport:
    def __init__(self, module_name: str) -> None:
        self._module_name = module_name
        self._module: typing.Any = None
    def __getattr__(self, name: str) -> typing.Any:
        if self._module is None:
            import importlib
            self._module = importlib.import_module(self._module_name)
        return getattr(self._module, name)

if typing.TYPE_CHECKING:

    import cdk8s as _cdk8s_d3d9af27
    import constructs as _constructs_77d1e7e8
else:

    _cdk8s_d3d9af27 = _LazyImport("cdk8s")
    _constructs_77d1e7e8 = _LazyImport("constructs")


class Server(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.Server",
):
    '''
    :schema: Server
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["ServerSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "Server" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: 
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__385c058b3a3ab39e836d760e2566a7f7a9381cadbf0923ba2a2c5c672ca309de)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ServerProps(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["ServerSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "Server".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: 
        :param metadata: 
        '''
        props = ServerProps(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "Server".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerProps",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class ServerProps:
    def __init__(
        self,
        *,
        spec: typing.Union["ServerSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: 
        :param metadata: 

        :schema: Server
        '''
        if isinstance(spec, dict):
            spec = ServerSpec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__45f9d762356a2dcc8cb85c433e7bb3a1f7337af193f1a887df1e733c850fe796)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "ServerSpec":
        '''
        :schema: Server#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("ServerSpec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: Server#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerProps(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerSpec",
    jsii_struct_bases=[],
    name_mapping={
        "pod_selector": "podSelector",
        "port": "port",
        "proxy_protocol": "proxyProtocol",
    },
)
class ServerSpec:
    def __init__(
        self,
        *,
        pod_selector: typing.Union["ServerSpecPodSelector", typing.Dict[builtins.str, typing.Any]],
        port: typing.Any,
        proxy_protocol: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param pod_selector: Selects pods in the same namespace.
        :param port: A port name or number. Must exist in a pod spec.
        :param proxy_protocol: Configures protocol discovery for inbound connections. Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerSpec
        '''
        if isinstance(pod_selector, dict):
            pod_selector = ServerSpecPodSelector(**pod_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__07ba218f4e302a4a93015dc6f91e6e5604418d699a38af125d859e617002856f)
            check_type(argname="argument pod_selector", value=pod_selector, expected_type=type_hints["pod_selector"])
            check_type(argname="argument port", value=port, expected_type=type_hints["port"])
            check_type(argname="argument proxy_protocol", value=proxy_protocol, expected_type=type_hints["proxy_protocol"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "pod_selector": pod_selector,
            "port": port,
        }
        if proxy_protocol is not None:
            self._values["proxy_protocol"] = proxy_protocol

    @builtins.property
    def pod_selector(self) -> "ServerSpecPodSelector":
        '''Selects pods in the same namespace.

        :schema: ServerSpec#podSelector
        '''
        result = self._values.get("pod_selector")
        assert result is not None, "Required property 'pod_selector' is missing"
        return typing.cast("ServerSpecPodSelector", result)

    @builtins.property
    def port(self) -> typing.Any:
        '''A port name or number.

        Must exist in a pod spec.

        :schema: ServerSpec#port
        '''
        result = self._values.get("port")
        assert result is not None, "Required property 'port' is missing"
        return typing.cast(typing.Any, result)

    @builtins.property
    def proxy_protocol(self) -> typing.Optional[builtins.str]:
        '''Configures protocol discovery for inbound connections.

        Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerSpec#proxyProtocol
        '''
        result = self._values.get("proxy_protocol")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerSpec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerSpecPodSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerSpecPodSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerSpecPodSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects pods in the same namespace.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerSpecPodSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__481295a885c75878402a41bc990118c1667151fd7e214c40637b5b3608f97dad)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerSpecPodSelectorMatchExpressions"]]:
        '''
        :schema: ServerSpecPodSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerSpecPodSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerSpecPodSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerSpecPodSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerSpecPodSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerSpecPodSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerSpecPodSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerSpecPodSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__705ff48a62aad847e55145d7b86a06b5676089301a652a94280483ee720545d7)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerSpecPodSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> "ServerSpecPodSelectorMatchExpressionsOperator":
        '''
        :schema: ServerSpecPodSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerSpecPodSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerSpecPodSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerSpecPodSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerSpecPodSelectorMatchExpressionsOperator"
)
class ServerSpecPodSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerSpecPodSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


class ServerV1Beta1(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1",
):
    '''
    :schema: ServerV1Beta1
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["ServerV1Beta1Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ServerV1Beta1" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: 
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__1fa0c9184e60bde89c5f5a39ba6a16b5832303d77cc5442f6eab3fd27bf604bd)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ServerV1Beta1Props(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["ServerV1Beta1Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ServerV1Beta1".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: 
        :param metadata: 
        '''
        props = ServerV1Beta1Props(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ServerV1Beta1".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1Props",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class ServerV1Beta1Props:
    def __init__(
        self,
        *,
        spec: typing.Union["ServerV1Beta1Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: 
        :param metadata: 

        :schema: ServerV1Beta1
        '''
        if isinstance(spec, dict):
            spec = ServerV1Beta1Spec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__dd1d8248fabb8e94baa87963b54e1afd7613c11b23311a5b8b05afec3a492e57)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "ServerV1Beta1Spec":
        '''
        :schema: ServerV1Beta1#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("ServerV1Beta1Spec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ServerV1Beta1#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta1Props(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1Spec",
    jsii_struct_bases=[],
    name_mapping={
        "pod_selector": "podSelector",
        "port": "port",
        "proxy_protocol": "proxyProtocol",
    },
)
class ServerV1Beta1Spec:
    def __init__(
        self,
        *,
        pod_selector: typing.Union["ServerV1Beta1SpecPodSelector", typing.Dict[builtins.str, typing.Any]],
        port: typing.Any,
        proxy_protocol: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param pod_selector: Selects pods in the same namespace. The result of matchLabels and matchExpressions are ANDed. Selects all if empty.
        :param port: A port name or number. Must exist in a pod spec.
        :param proxy_protocol: Configures protocol discovery for inbound connections. Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta1Spec
        '''
        if isinstance(pod_selector, dict):
            pod_selector = ServerV1Beta1SpecPodSelector(**pod_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__5a13c4624dd2165830b8f1e30be36cad1126aaeeff0be4d844b1ab435769924b)
            check_type(argname="argument pod_selector", value=pod_selector, expected_type=type_hints["pod_selector"])
            check_type(argname="argument port", value=port, expected_type=type_hints["port"])
            check_type(argname="argument proxy_protocol", value=proxy_protocol, expected_type=type_hints["proxy_protocol"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "pod_selector": pod_selector,
            "port": port,
        }
        if proxy_protocol is not None:
            self._values["proxy_protocol"] = proxy_protocol

    @builtins.property
    def pod_selector(self) -> "ServerV1Beta1SpecPodSelector":
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :schema: ServerV1Beta1Spec#podSelector
        '''
        result = self._values.get("pod_selector")
        assert result is not None, "Required property 'pod_selector' is missing"
        return typing.cast("ServerV1Beta1SpecPodSelector", result)

    @builtins.property
    def port(self) -> typing.Any:
        '''A port name or number.

        Must exist in a pod spec.

        :schema: ServerV1Beta1Spec#port
        '''
        result = self._values.get("port")
        assert result is not None, "Required property 'port' is missing"
        return typing.cast(typing.Any, result)

    @builtins.property
    def proxy_protocol(self) -> typing.Optional[builtins.str]:
        '''Configures protocol discovery for inbound connections.

        Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta1Spec#proxyProtocol
        '''
        result = self._values.get("proxy_protocol")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta1Spec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1SpecPodSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerV1Beta1SpecPodSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerV1Beta1SpecPodSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerV1Beta1SpecPodSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__0926161256e9a0566c39ebf4ffe4f06298fc5d185e01153eb352023dc6ada9b1)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerV1Beta1SpecPodSelectorMatchExpressions"]]:
        '''
        :schema: ServerV1Beta1SpecPodSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerV1Beta1SpecPodSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerV1Beta1SpecPodSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta1SpecPodSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1SpecPodSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerV1Beta1SpecPodSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerV1Beta1SpecPodSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerV1Beta1SpecPodSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__857e403ebbbf4703dbea99ab96d40185f75ea1fdc08962a262db1c068cbfd12b)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerV1Beta1SpecPodSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> "ServerV1Beta1SpecPodSelectorMatchExpressionsOperator":
        '''
        :schema: ServerV1Beta1SpecPodSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerV1Beta1SpecPodSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerV1Beta1SpecPodSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta1SpecPodSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta1SpecPodSelectorMatchExpressionsOperator"
)
class ServerV1Beta1SpecPodSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerV1Beta1SpecPodSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


class ServerV1Beta2(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2",
):
    '''
    :schema: ServerV1Beta2
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["ServerV1Beta2Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ServerV1Beta2" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: 
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__74ef519eb7d11551097cf68d4bdf77306d3d83d733381c3e50fffe1755f62b7c)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ServerV1Beta2Props(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["ServerV1Beta2Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ServerV1Beta2".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: 
        :param metadata: 
        '''
        props = ServerV1Beta2Props(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ServerV1Beta2".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2Props",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class ServerV1Beta2Props:
    def __init__(
        self,
        *,
        spec: typing.Union["ServerV1Beta2Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: 
        :param metadata: 

        :schema: ServerV1Beta2
        '''
        if isinstance(spec, dict):
            spec = ServerV1Beta2Spec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__da065a153508773a7858028ce57a071c3edc85d905b6e3954bf4a2e15bfa4919)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "ServerV1Beta2Spec":
        '''
        :schema: ServerV1Beta2#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("ServerV1Beta2Spec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ServerV1Beta2#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2Props(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2Spec",
    jsii_struct_bases=[],
    name_mapping={
        "port": "port",
        "external_workload_selector": "externalWorkloadSelector",
        "pod_selector": "podSelector",
        "proxy_protocol": "proxyProtocol",
    },
)
class ServerV1Beta2Spec:
    def __init__(
        self,
        *,
        port: typing.Any,
        external_workload_selector: typing.Optional[typing.Union["ServerV1Beta2SpecExternalWorkloadSelector", typing.Dict[builtins.str, typing.Any]]] = None,
        pod_selector: typing.Optional[typing.Union["ServerV1Beta2SpecPodSelector", typing.Dict[builtins.str, typing.Any]]] = None,
        proxy_protocol: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param port: A port name or number. Must exist in a pod spec.
        :param external_workload_selector: Selects ExternalWorkloads in the same namespace. The result of matchLabels and matchExpressions are ANDed. Selects all if empty.
        :param pod_selector: Selects pods in the same namespace. The result of matchLabels and matchExpressions are ANDed. Selects all if empty.
        :param proxy_protocol: Configures protocol discovery for inbound connections. Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta2Spec
        '''
        if isinstance(external_workload_selector, dict):
            external_workload_selector = ServerV1Beta2SpecExternalWorkloadSelector(**external_workload_selector)
        if isinstance(pod_selector, dict):
            pod_selector = ServerV1Beta2SpecPodSelector(**pod_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__fba766470fe514303939519366d0f1041fafe626959a094749df84bc05d725df)
            check_type(argname="argument port", value=port, expected_type=type_hints["port"])
            check_type(argname="argument external_workload_selector", value=external_workload_selector, expected_type=type_hints["external_workload_selector"])
            check_type(argname="argument pod_selector", value=pod_selector, expected_type=type_hints["pod_selector"])
            check_type(argname="argument proxy_protocol", value=proxy_protocol, expected_type=type_hints["proxy_protocol"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "port": port,
        }
        if external_workload_selector is not None:
            self._values["external_workload_selector"] = external_workload_selector
        if pod_selector is not None:
            self._values["pod_selector"] = pod_selector
        if proxy_protocol is not None:
            self._values["proxy_protocol"] = proxy_protocol

    @builtins.property
    def port(self) -> typing.Any:
        '''A port name or number.

        Must exist in a pod spec.

        :schema: ServerV1Beta2Spec#port
        '''
        result = self._values.get("port")
        assert result is not None, "Required property 'port' is missing"
        return typing.cast(typing.Any, result)

    @builtins.property
    def external_workload_selector(
        self,
    ) -> typing.Optional["ServerV1Beta2SpecExternalWorkloadSelector"]:
        '''Selects ExternalWorkloads in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :schema: ServerV1Beta2Spec#externalWorkloadSelector
        '''
        result = self._values.get("external_workload_selector")
        return typing.cast(typing.Optional["ServerV1Beta2SpecExternalWorkloadSelector"], result)

    @builtins.property
    def pod_selector(self) -> typing.Optional["ServerV1Beta2SpecPodSelector"]:
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :schema: ServerV1Beta2Spec#podSelector
        '''
        result = self._values.get("pod_selector")
        return typing.cast(typing.Optional["ServerV1Beta2SpecPodSelector"], result)

    @builtins.property
    def proxy_protocol(self) -> typing.Optional[builtins.str]:
        '''Configures protocol discovery for inbound connections.

        Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta2Spec#proxyProtocol
        '''
        result = self._values.get("proxy_protocol")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2Spec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecExternalWorkloadSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerV1Beta2SpecExternalWorkloadSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects ExternalWorkloads in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerV1Beta2SpecExternalWorkloadSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__03398fa47b50a0605558a2f77f72624b046ead36da5cd5bebc2d0d91b8eb6d21)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions"]]:
        '''
        :schema: ServerV1Beta2SpecExternalWorkloadSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerV1Beta2SpecExternalWorkloadSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2SpecExternalWorkloadSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__65c29ccba94323b5d7a592910d01324ea434e736c231041decf4fcc697b34cb1)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(
        self,
    ) -> "ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator":
        '''
        :schema: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator"
)
class ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecPodSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerV1Beta2SpecPodSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerV1Beta2SpecPodSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerV1Beta2SpecPodSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6ecfd255081ea6854d4aecd172a9ff254137260c2749b8ce549ddf9515f18063)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerV1Beta2SpecPodSelectorMatchExpressions"]]:
        '''
        :schema: ServerV1Beta2SpecPodSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerV1Beta2SpecPodSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerV1Beta2SpecPodSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2SpecPodSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecPodSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerV1Beta2SpecPodSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerV1Beta2SpecPodSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerV1Beta2SpecPodSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7b0fface41c8a6ca26ab64fa7043f6a307a8c00fa10b51c1198078525e3f1eea)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerV1Beta2SpecPodSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> "ServerV1Beta2SpecPodSelectorMatchExpressionsOperator":
        '''
        :schema: ServerV1Beta2SpecPodSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerV1Beta2SpecPodSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerV1Beta2SpecPodSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta2SpecPodSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta2SpecPodSelectorMatchExpressionsOperator"
)
class ServerV1Beta2SpecPodSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerV1Beta2SpecPodSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


class ServerV1Beta3(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3",
):
    '''
    :schema: ServerV1Beta3
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["ServerV1Beta3Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ServerV1Beta3" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: 
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7ae218bf895c10fb5cd25df42a732c271a13feeaf32357f1c8d99b8c73d882c9)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ServerV1Beta3Props(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["ServerV1Beta3Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ServerV1Beta3".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: 
        :param metadata: 
        '''
        props = ServerV1Beta3Props(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ServerV1Beta3".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3Props",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class ServerV1Beta3Props:
    def __init__(
        self,
        *,
        spec: typing.Union["ServerV1Beta3Spec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: 
        :param metadata: 

        :schema: ServerV1Beta3
        '''
        if isinstance(spec, dict):
            spec = ServerV1Beta3Spec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__578cc21e906a714aa69355c91dd8593ac342242abc086333258062ef4f9ab797)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "ServerV1Beta3Spec":
        '''
        :schema: ServerV1Beta3#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("ServerV1Beta3Spec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ServerV1Beta3#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3Props(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3Spec",
    jsii_struct_bases=[],
    name_mapping={
        "port": "port",
        "access_policy": "accessPolicy",
        "external_workload_selector": "externalWorkloadSelector",
        "pod_selector": "podSelector",
        "proxy_protocol": "proxyProtocol",
    },
)
class ServerV1Beta3Spec:
    def __init__(
        self,
        *,
        port: typing.Any,
        access_policy: typing.Optional[builtins.str] = None,
        external_workload_selector: typing.Optional[typing.Union["ServerV1Beta3SpecExternalWorkloadSelector", typing.Dict[builtins.str, typing.Any]]] = None,
        pod_selector: typing.Optional[typing.Union["ServerV1Beta3SpecPodSelector", typing.Dict[builtins.str, typing.Any]]] = None,
        proxy_protocol: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param port: A port name or number. Must exist in a pod spec.
        :param access_policy: Default access policy to apply when the traffic doesn't match any of the policy rules.
        :param external_workload_selector: Selects ExternalWorkloads in the same namespace. The result of matchLabels and matchExpressions are ANDed. Selects all if empty.
        :param pod_selector: Selects pods in the same namespace. The result of matchLabels and matchExpressions are ANDed. Selects all if empty.
        :param proxy_protocol: Configures protocol discovery for inbound connections. Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta3Spec
        '''
        if isinstance(external_workload_selector, dict):
            external_workload_selector = ServerV1Beta3SpecExternalWorkloadSelector(**external_workload_selector)
        if isinstance(pod_selector, dict):
            pod_selector = ServerV1Beta3SpecPodSelector(**pod_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__49a669ecf790c6660828e761bf1056122c4ade7e1b08a705f29caab28419c8b4)
            check_type(argname="argument port", value=port, expected_type=type_hints["port"])
            check_type(argname="argument access_policy", value=access_policy, expected_type=type_hints["access_policy"])
            check_type(argname="argument external_workload_selector", value=external_workload_selector, expected_type=type_hints["external_workload_selector"])
            check_type(argname="argument pod_selector", value=pod_selector, expected_type=type_hints["pod_selector"])
            check_type(argname="argument proxy_protocol", value=proxy_protocol, expected_type=type_hints["proxy_protocol"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "port": port,
        }
        if access_policy is not None:
            self._values["access_policy"] = access_policy
        if external_workload_selector is not None:
            self._values["external_workload_selector"] = external_workload_selector
        if pod_selector is not None:
            self._values["pod_selector"] = pod_selector
        if proxy_protocol is not None:
            self._values["proxy_protocol"] = proxy_protocol

    @builtins.property
    def port(self) -> typing.Any:
        '''A port name or number.

        Must exist in a pod spec.

        :schema: ServerV1Beta3Spec#port
        '''
        result = self._values.get("port")
        assert result is not None, "Required property 'port' is missing"
        return typing.cast(typing.Any, result)

    @builtins.property
    def access_policy(self) -> typing.Optional[builtins.str]:
        '''Default access policy to apply when the traffic doesn't match any of the policy rules.

        :schema: ServerV1Beta3Spec#accessPolicy
        '''
        result = self._values.get("access_policy")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def external_workload_selector(
        self,
    ) -> typing.Optional["ServerV1Beta3SpecExternalWorkloadSelector"]:
        '''Selects ExternalWorkloads in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :schema: ServerV1Beta3Spec#externalWorkloadSelector
        '''
        result = self._values.get("external_workload_selector")
        return typing.cast(typing.Optional["ServerV1Beta3SpecExternalWorkloadSelector"], result)

    @builtins.property
    def pod_selector(self) -> typing.Optional["ServerV1Beta3SpecPodSelector"]:
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :schema: ServerV1Beta3Spec#podSelector
        '''
        result = self._values.get("pod_selector")
        return typing.cast(typing.Optional["ServerV1Beta3SpecPodSelector"], result)

    @builtins.property
    def proxy_protocol(self) -> typing.Optional[builtins.str]:
        '''Configures protocol discovery for inbound connections.

        Supersedes the ``config.linkerd.io/opaque-ports`` annotation.

        :schema: ServerV1Beta3Spec#proxyProtocol
        '''
        result = self._values.get("proxy_protocol")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3Spec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecExternalWorkloadSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerV1Beta3SpecExternalWorkloadSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects ExternalWorkloads in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerV1Beta3SpecExternalWorkloadSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8545196ca76ac2cb8ede143e3ec1a6a9288a43824d59dcf697df83eb53eb92e2)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions"]]:
        '''
        :schema: ServerV1Beta3SpecExternalWorkloadSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerV1Beta3SpecExternalWorkloadSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3SpecExternalWorkloadSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__b3f7f9de3f74e985661132e0b35eb218b84f98ae61701671e5b973e07c67d5d4)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(
        self,
    ) -> "ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator":
        '''
        :schema: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator"
)
class ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecPodSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ServerV1Beta3SpecPodSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ServerV1Beta3SpecPodSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Any = None,
    ) -> None:
        '''Selects pods in the same namespace.

        The result of matchLabels and matchExpressions are ANDed. Selects all if empty.

        :param match_expressions: 
        :param match_labels: 

        :schema: ServerV1Beta3SpecPodSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__54469d29c17d36afeb18a4f360b9cff974d483e8135ef5633f3604f4f19f2ff0)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ServerV1Beta3SpecPodSelectorMatchExpressions"]]:
        '''
        :schema: ServerV1Beta3SpecPodSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ServerV1Beta3SpecPodSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(self) -> typing.Any:
        '''
        :schema: ServerV1Beta3SpecPodSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Any, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3SpecPodSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecPodSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ServerV1Beta3SpecPodSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: "ServerV1Beta3SpecPodSelectorMatchExpressionsOperator",
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''
        :param key: 
        :param operator: 
        :param values: 

        :schema: ServerV1Beta3SpecPodSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d64a46373f7b0b40d88765dc404b2e054ddf4851c05800ca1354fe2fa1aaa994)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ServerV1Beta3SpecPodSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> "ServerV1Beta3SpecPodSelectorMatchExpressionsOperator":
        '''
        :schema: ServerV1Beta3SpecPodSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast("ServerV1Beta3SpecPodSelectorMatchExpressionsOperator", result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ServerV1Beta3SpecPodSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ServerV1Beta3SpecPodSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="policy_linkerd_io_servers_iolinkerdpolicy.ServerV1Beta3SpecPodSelectorMatchExpressionsOperator"
)
class ServerV1Beta3SpecPodSelectorMatchExpressionsOperator(enum.Enum):
    '''
    :schema: ServerV1Beta3SpecPodSelectorMatchExpressionsOperator
    '''

    IN = "IN"
    '''In.'''
    NOT_IN = "NOT_IN"
    '''NotIn.'''
    EXISTS = "EXISTS"
    '''Exists.'''
    DOES_NOT_EXIST = "DOES_NOT_EXIST"
    '''DoesNotExist.'''


__all__ = [
    "Server",
    "ServerProps",
    "ServerSpec",
    "ServerSpecPodSelector",
    "ServerSpecPodSelectorMatchExpressions",
    "ServerSpecPodSelectorMatchExpressionsOperator",
    "ServerV1Beta1",
    "ServerV1Beta1Props",
    "ServerV1Beta1Spec",
    "ServerV1Beta1SpecPodSelector",
    "ServerV1Beta1SpecPodSelectorMatchExpressions",
    "ServerV1Beta1SpecPodSelectorMatchExpressionsOperator",
    "ServerV1Beta2",
    "ServerV1Beta2Props",
    "ServerV1Beta2Spec",
    "ServerV1Beta2SpecExternalWorkloadSelector",
    "ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions",
    "ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator",
    "ServerV1Beta2SpecPodSelector",
    "ServerV1Beta2SpecPodSelectorMatchExpressions",
    "ServerV1Beta2SpecPodSelectorMatchExpressionsOperator",
    "ServerV1Beta3",
    "ServerV1Beta3Props",
    "ServerV1Beta3Spec",
    "ServerV1Beta3SpecExternalWorkloadSelector",
    "ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions",
    "ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator",
    "ServerV1Beta3SpecPodSelector",
    "ServerV1Beta3SpecPodSelectorMatchExpressions",
    "ServerV1Beta3SpecPodSelectorMatchExpressionsOperator",
]

publication.publish()

def _typecheckingstub__385c058b3a3ab39e836d760e2566a7f7a9381cadbf0923ba2a2c5c672ca309de(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[ServerSpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__45f9d762356a2dcc8cb85c433e7bb3a1f7337af193f1a887df1e733c850fe796(
    *,
    spec: typing.Union[ServerSpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__07ba218f4e302a4a93015dc6f91e6e5604418d699a38af125d859e617002856f(
    *,
    pod_selector: typing.Union[ServerSpecPodSelector, typing.Dict[builtins.str, typing.Any]],
    port: typing.Any,
    proxy_protocol: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__481295a885c75878402a41bc990118c1667151fd7e214c40637b5b3608f97dad(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerSpecPodSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__705ff48a62aad847e55145d7b86a06b5676089301a652a94280483ee720545d7(
    *,
    key: builtins.str,
    operator: ServerSpecPodSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__1fa0c9184e60bde89c5f5a39ba6a16b5832303d77cc5442f6eab3fd27bf604bd(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[ServerV1Beta1Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__dd1d8248fabb8e94baa87963b54e1afd7613c11b23311a5b8b05afec3a492e57(
    *,
    spec: typing.Union[ServerV1Beta1Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__5a13c4624dd2165830b8f1e30be36cad1126aaeeff0be4d844b1ab435769924b(
    *,
    pod_selector: typing.Union[ServerV1Beta1SpecPodSelector, typing.Dict[builtins.str, typing.Any]],
    port: typing.Any,
    proxy_protocol: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__0926161256e9a0566c39ebf4ffe4f06298fc5d185e01153eb352023dc6ada9b1(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerV1Beta1SpecPodSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__857e403ebbbf4703dbea99ab96d40185f75ea1fdc08962a262db1c068cbfd12b(
    *,
    key: builtins.str,
    operator: ServerV1Beta1SpecPodSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__74ef519eb7d11551097cf68d4bdf77306d3d83d733381c3e50fffe1755f62b7c(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[ServerV1Beta2Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__da065a153508773a7858028ce57a071c3edc85d905b6e3954bf4a2e15bfa4919(
    *,
    spec: typing.Union[ServerV1Beta2Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__fba766470fe514303939519366d0f1041fafe626959a094749df84bc05d725df(
    *,
    port: typing.Any,
    external_workload_selector: typing.Optional[typing.Union[ServerV1Beta2SpecExternalWorkloadSelector, typing.Dict[builtins.str, typing.Any]]] = None,
    pod_selector: typing.Optional[typing.Union[ServerV1Beta2SpecPodSelector, typing.Dict[builtins.str, typing.Any]]] = None,
    proxy_protocol: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__03398fa47b50a0605558a2f77f72624b046ead36da5cd5bebc2d0d91b8eb6d21(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__65c29ccba94323b5d7a592910d01324ea434e736c231041decf4fcc697b34cb1(
    *,
    key: builtins.str,
    operator: ServerV1Beta2SpecExternalWorkloadSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6ecfd255081ea6854d4aecd172a9ff254137260c2749b8ce549ddf9515f18063(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerV1Beta2SpecPodSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7b0fface41c8a6ca26ab64fa7043f6a307a8c00fa10b51c1198078525e3f1eea(
    *,
    key: builtins.str,
    operator: ServerV1Beta2SpecPodSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7ae218bf895c10fb5cd25df42a732c271a13feeaf32357f1c8d99b8c73d882c9(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[ServerV1Beta3Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__578cc21e906a714aa69355c91dd8593ac342242abc086333258062ef4f9ab797(
    *,
    spec: typing.Union[ServerV1Beta3Spec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__49a669ecf790c6660828e761bf1056122c4ade7e1b08a705f29caab28419c8b4(
    *,
    port: typing.Any,
    access_policy: typing.Optional[builtins.str] = None,
    external_workload_selector: typing.Optional[typing.Union[ServerV1Beta3SpecExternalWorkloadSelector, typing.Dict[builtins.str, typing.Any]]] = None,
    pod_selector: typing.Optional[typing.Union[ServerV1Beta3SpecPodSelector, typing.Dict[builtins.str, typing.Any]]] = None,
    proxy_protocol: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8545196ca76ac2cb8ede143e3ec1a6a9288a43824d59dcf697df83eb53eb92e2(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__b3f7f9de3f74e985661132e0b35eb218b84f98ae61701671e5b973e07c67d5d4(
    *,
    key: builtins.str,
    operator: ServerV1Beta3SpecExternalWorkloadSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__54469d29c17d36afeb18a4f360b9cff974d483e8135ef5633f3604f4f19f2ff0(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ServerV1Beta3SpecPodSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Any = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__d64a46373f7b0b40d88765dc404b2e054ddf4851c05800ca1354fe2fa1aaa994(
    *,
    key: builtins.str,
    operator: ServerV1Beta3SpecPodSelectorMatchExpressionsOperator,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass
