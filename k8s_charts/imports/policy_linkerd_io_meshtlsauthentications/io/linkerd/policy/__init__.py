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


class MeshTlsAuthentication(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_meshtlsauthentications_iolinkerdpolicy.MeshTlsAuthentication",
):
    '''
    :schema: MeshTLSAuthentication
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["MeshTlsAuthenticationSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "MeshTLSAuthentication" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: MeshTLSAuthentication defines a list of authenticated client IDs to be referenced by an ``AuthorizationPolicy``. If a client connection has the mutually-authenticated identity that matches ANY of the of the provided identities, the connection is considered authenticated.
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__17c64f90acd99acb09a293ba71a946488c4b9f5c1a13070e57d44d55574579fd)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = MeshTlsAuthenticationProps(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["MeshTlsAuthenticationSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "MeshTLSAuthentication".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: MeshTLSAuthentication defines a list of authenticated client IDs to be referenced by an ``AuthorizationPolicy``. If a client connection has the mutually-authenticated identity that matches ANY of the of the provided identities, the connection is considered authenticated.
        :param metadata: 
        '''
        props = MeshTlsAuthenticationProps(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "MeshTLSAuthentication".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_meshtlsauthentications_iolinkerdpolicy.MeshTlsAuthenticationProps",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class MeshTlsAuthenticationProps:
    def __init__(
        self,
        *,
        spec: typing.Union["MeshTlsAuthenticationSpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: MeshTLSAuthentication defines a list of authenticated client IDs to be referenced by an ``AuthorizationPolicy``. If a client connection has the mutually-authenticated identity that matches ANY of the of the provided identities, the connection is considered authenticated.
        :param metadata: 

        :schema: MeshTLSAuthentication
        '''
        if isinstance(spec, dict):
            spec = MeshTlsAuthenticationSpec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__51177becb98d5e569cf3ed775124e7312cf1b4d180e1598978203e66d8b9911a)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "MeshTlsAuthenticationSpec":
        '''MeshTLSAuthentication defines a list of authenticated client IDs to be referenced by an ``AuthorizationPolicy``.

        If a client connection has the mutually-authenticated identity that matches ANY of the of the provided identities, the connection is considered authenticated.

        :schema: MeshTLSAuthentication#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("MeshTlsAuthenticationSpec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: MeshTLSAuthentication#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "MeshTlsAuthenticationProps(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_meshtlsauthentications_iolinkerdpolicy.MeshTlsAuthenticationSpec",
    jsii_struct_bases=[],
    name_mapping={"identities": "identities", "identity_refs": "identityRefs"},
)
class MeshTlsAuthenticationSpec:
    def __init__(
        self,
        *,
        identities: typing.Optional[typing.Sequence[builtins.str]] = None,
        identity_refs: typing.Optional[typing.Sequence[typing.Union["MeshTlsAuthenticationSpecIdentityRefs", typing.Dict[builtins.str, typing.Any]]]] = None,
    ) -> None:
        '''MeshTLSAuthentication defines a list of authenticated client IDs to be referenced by an ``AuthorizationPolicy``.

        If a client connection has the mutually-authenticated identity that matches ANY of the of the provided identities, the connection is considered authenticated.

        :param identities: Authorizes clients with the provided proxy identity strings (as provided via MTLS) The ``*`` prefix can be used to match all identities in a domain. An identity string of ``*`` indicates that all authentication clients are authorized.
        :param identity_refs: 

        :schema: MeshTlsAuthenticationSpec
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__5483d3a462a3bcc92071ee946d3f87378d95549374d23fe10a4ba49bedac3424)
            check_type(argname="argument identities", value=identities, expected_type=type_hints["identities"])
            check_type(argname="argument identity_refs", value=identity_refs, expected_type=type_hints["identity_refs"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if identities is not None:
            self._values["identities"] = identities
        if identity_refs is not None:
            self._values["identity_refs"] = identity_refs

    @builtins.property
    def identities(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Authorizes clients with the provided proxy identity strings (as provided via MTLS) The ``*`` prefix can be used to match all identities in a domain.

        An identity string of ``*`` indicates that all authentication clients are authorized.

        :schema: MeshTlsAuthenticationSpec#identities
        '''
        result = self._values.get("identities")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def identity_refs(
        self,
    ) -> typing.Optional[typing.List["MeshTlsAuthenticationSpecIdentityRefs"]]:
        '''
        :schema: MeshTlsAuthenticationSpec#identityRefs
        '''
        result = self._values.get("identity_refs")
        return typing.cast(typing.Optional[typing.List["MeshTlsAuthenticationSpecIdentityRefs"]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "MeshTlsAuthenticationSpec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_meshtlsauthentications_iolinkerdpolicy.MeshTlsAuthenticationSpecIdentityRefs",
    jsii_struct_bases=[],
    name_mapping={
        "kind": "kind",
        "group": "group",
        "name": "name",
        "namespace": "namespace",
    },
)
class MeshTlsAuthenticationSpecIdentityRefs:
    def __init__(
        self,
        *,
        kind: builtins.str,
        group: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param kind: Kind is the kind of the referent.
        :param group: Group is the group of the referent. When empty, the Kubernetes core API group is inferred."
        :param name: Name is the name of the referent. When unspecified, this refers to all resources of the specified Group and Kind in the specified namespace.
        :param namespace: Name is the name of the referent. When unspecified, this authentication refers to the local namespace.

        :schema: MeshTlsAuthenticationSpecIdentityRefs
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__4409febd9cc09cce9b4867e5b3ef2b10d18fa22f98751ed4758cd1c62c4614f5)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument group", value=group, expected_type=type_hints["group"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
        }
        if group is not None:
            self._values["group"] = group
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def kind(self) -> builtins.str:
        '''Kind is the kind of the referent.

        :schema: MeshTlsAuthenticationSpecIdentityRefs#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def group(self) -> typing.Optional[builtins.str]:
        '''Group is the group of the referent.

        When empty, the Kubernetes core API group is inferred."

        :schema: MeshTlsAuthenticationSpecIdentityRefs#group
        '''
        result = self._values.get("group")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name is the name of the referent.

        When unspecified, this refers to all resources of the specified Group and Kind in the specified namespace.

        :schema: MeshTlsAuthenticationSpecIdentityRefs#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''Name is the name of the referent.

        When unspecified, this authentication refers to the local namespace.

        :schema: MeshTlsAuthenticationSpecIdentityRefs#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "MeshTlsAuthenticationSpecIdentityRefs(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


__all__ = [
    "MeshTlsAuthentication",
    "MeshTlsAuthenticationProps",
    "MeshTlsAuthenticationSpec",
    "MeshTlsAuthenticationSpecIdentityRefs",
]

publication.publish()

def _typecheckingstub__17c64f90acd99acb09a293ba71a946488c4b9f5c1a13070e57d44d55574579fd(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[MeshTlsAuthenticationSpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__51177becb98d5e569cf3ed775124e7312cf1b4d180e1598978203e66d8b9911a(
    *,
    spec: typing.Union[MeshTlsAuthenticationSpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__5483d3a462a3bcc92071ee946d3f87378d95549374d23fe10a4ba49bedac3424(
    *,
    identities: typing.Optional[typing.Sequence[builtins.str]] = None,
    identity_refs: typing.Optional[typing.Sequence[typing.Union[MeshTlsAuthenticationSpecIdentityRefs, typing.Dict[builtins.str, typing.Any]]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__4409febd9cc09cce9b4867e5b3ef2b10d18fa22f98751ed4758cd1c62c4614f5(
    *,
    kind: builtins.str,
    group: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass
