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


class AuthorizationPolicy(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="policy_linkerd_io_authorizationpolicies_iolinkerdpolicy.AuthorizationPolicy",
):
    '''
    :schema: AuthorizationPolicy
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        spec: typing.Union["AuthorizationPolicySpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "AuthorizationPolicy" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param spec: Authorizes clients to communicate with Linkerd-proxied server resources.
        :param metadata: 
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d74237d35d5c6370fc76a6b733aa97fb803ca473bd392380625ca651b44e70af)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = AuthorizationPolicyProps(spec=spec, metadata=metadata)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        spec: typing.Union["AuthorizationPolicySpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "AuthorizationPolicy".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param spec: Authorizes clients to communicate with Linkerd-proxied server resources.
        :param metadata: 
        '''
        props = AuthorizationPolicyProps(spec=spec, metadata=metadata)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "AuthorizationPolicy".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="policy_linkerd_io_authorizationpolicies_iolinkerdpolicy.AuthorizationPolicyProps",
    jsii_struct_bases=[],
    name_mapping={"spec": "spec", "metadata": "metadata"},
)
class AuthorizationPolicyProps:
    def __init__(
        self,
        *,
        spec: typing.Union["AuthorizationPolicySpec", typing.Dict[builtins.str, typing.Any]],
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''
        :param spec: Authorizes clients to communicate with Linkerd-proxied server resources.
        :param metadata: 

        :schema: AuthorizationPolicy
        '''
        if isinstance(spec, dict):
            spec = AuthorizationPolicySpec(**spec)
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a5695bce817e05c788f9236c4a44a0cf2f233e6d87f923eb2a204f06e80ca4e0)
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "spec": spec,
        }
        if metadata is not None:
            self._values["metadata"] = metadata

    @builtins.property
    def spec(self) -> "AuthorizationPolicySpec":
        '''Authorizes clients to communicate with Linkerd-proxied server resources.

        :schema: AuthorizationPolicy#spec
        '''
        result = self._values.get("spec")
        assert result is not None, "Required property 'spec' is missing"
        return typing.cast("AuthorizationPolicySpec", result)

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: AuthorizationPolicy#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "AuthorizationPolicyProps(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_authorizationpolicies_iolinkerdpolicy.AuthorizationPolicySpec",
    jsii_struct_bases=[],
    name_mapping={
        "required_authentication_refs": "requiredAuthenticationRefs",
        "target_ref": "targetRef",
    },
)
class AuthorizationPolicySpec:
    def __init__(
        self,
        *,
        required_authentication_refs: typing.Sequence[typing.Union["AuthorizationPolicySpecRequiredAuthenticationRefs", typing.Dict[builtins.str, typing.Any]]],
        target_ref: typing.Union["AuthorizationPolicySpecTargetRef", typing.Dict[builtins.str, typing.Any]],
    ) -> None:
        '''Authorizes clients to communicate with Linkerd-proxied server resources.

        :param required_authentication_refs: RequiredAuthenticationRefs enumerates a set of required authentications. ALL authentications must be satisfied for the authorization to apply. If any of the referred objects cannot be found, the authorization will be ignored.
        :param target_ref: TargetRef references a resource to which the authorization policy applies.

        :schema: AuthorizationPolicySpec
        '''
        if isinstance(target_ref, dict):
            target_ref = AuthorizationPolicySpecTargetRef(**target_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__b5236260c8ce786ca66b492cbc2f26f213046f07c4a0cbdfe4aa3a32bfbdf561)
            check_type(argname="argument required_authentication_refs", value=required_authentication_refs, expected_type=type_hints["required_authentication_refs"])
            check_type(argname="argument target_ref", value=target_ref, expected_type=type_hints["target_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "required_authentication_refs": required_authentication_refs,
            "target_ref": target_ref,
        }

    @builtins.property
    def required_authentication_refs(
        self,
    ) -> typing.List["AuthorizationPolicySpecRequiredAuthenticationRefs"]:
        '''RequiredAuthenticationRefs enumerates a set of required authentications.

        ALL authentications must be satisfied for the authorization to apply. If any of the referred objects cannot be found, the authorization will be ignored.

        :schema: AuthorizationPolicySpec#requiredAuthenticationRefs
        '''
        result = self._values.get("required_authentication_refs")
        assert result is not None, "Required property 'required_authentication_refs' is missing"
        return typing.cast(typing.List["AuthorizationPolicySpecRequiredAuthenticationRefs"], result)

    @builtins.property
    def target_ref(self) -> "AuthorizationPolicySpecTargetRef":
        '''TargetRef references a resource to which the authorization policy applies.

        :schema: AuthorizationPolicySpec#targetRef
        '''
        result = self._values.get("target_ref")
        assert result is not None, "Required property 'target_ref' is missing"
        return typing.cast("AuthorizationPolicySpecTargetRef", result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "AuthorizationPolicySpec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_authorizationpolicies_iolinkerdpolicy.AuthorizationPolicySpecRequiredAuthenticationRefs",
    jsii_struct_bases=[],
    name_mapping={
        "kind": "kind",
        "name": "name",
        "group": "group",
        "namespace": "namespace",
    },
)
class AuthorizationPolicySpecRequiredAuthenticationRefs:
    def __init__(
        self,
        *,
        kind: builtins.str,
        name: builtins.str,
        group: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''
        :param kind: Kind is the kind of the referent.
        :param name: Name is the name of the referent.
        :param group: Group is the group of the referent. When empty, the Kubernetes core API group is inferred."
        :param namespace: Name is the name of the referent. When unspecified, this authentication refers to the local namespace.

        :schema: AuthorizationPolicySpecRequiredAuthenticationRefs
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__0160e86ad60ac41a4cb884f27eda25ddb2101d791216e7ebca790b31dab9712f)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument group", value=group, expected_type=type_hints["group"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if group is not None:
            self._values["group"] = group
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def kind(self) -> builtins.str:
        '''Kind is the kind of the referent.

        :schema: AuthorizationPolicySpecRequiredAuthenticationRefs#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Name is the name of the referent.

        :schema: AuthorizationPolicySpecRequiredAuthenticationRefs#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def group(self) -> typing.Optional[builtins.str]:
        '''Group is the group of the referent.

        When empty, the Kubernetes core API group is inferred."

        :schema: AuthorizationPolicySpecRequiredAuthenticationRefs#group
        '''
        result = self._values.get("group")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''Name is the name of the referent.

        When unspecified, this authentication refers to the local namespace.

        :schema: AuthorizationPolicySpecRequiredAuthenticationRefs#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "AuthorizationPolicySpecRequiredAuthenticationRefs(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="policy_linkerd_io_authorizationpolicies_iolinkerdpolicy.AuthorizationPolicySpecTargetRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name", "group": "group"},
)
class AuthorizationPolicySpecTargetRef:
    def __init__(
        self,
        *,
        kind: builtins.str,
        name: builtins.str,
        group: typing.Optional[builtins.str] = None,
    ) -> None:
        '''TargetRef references a resource to which the authorization policy applies.

        :param kind: Kind is the kind of the referent.
        :param name: Name is the name of the referent.
        :param group: Group is the group of the referent. When empty, the Kubernetes core API group is inferred.

        :schema: AuthorizationPolicySpecTargetRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__bb139d9341653e70164101b95878bf97edd60efdfb0c1d08c7e58f25e251f30c)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument group", value=group, expected_type=type_hints["group"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if group is not None:
            self._values["group"] = group

    @builtins.property
    def kind(self) -> builtins.str:
        '''Kind is the kind of the referent.

        :schema: AuthorizationPolicySpecTargetRef#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Name is the name of the referent.

        :schema: AuthorizationPolicySpecTargetRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def group(self) -> typing.Optional[builtins.str]:
        '''Group is the group of the referent.

        When empty, the Kubernetes core API group is inferred.

        :schema: AuthorizationPolicySpecTargetRef#group
        '''
        result = self._values.get("group")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "AuthorizationPolicySpecTargetRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


__all__ = [
    "AuthorizationPolicy",
    "AuthorizationPolicyProps",
    "AuthorizationPolicySpec",
    "AuthorizationPolicySpecRequiredAuthenticationRefs",
    "AuthorizationPolicySpecTargetRef",
]

publication.publish()

def _typecheckingstub__d74237d35d5c6370fc76a6b733aa97fb803ca473bd392380625ca651b44e70af(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    spec: typing.Union[AuthorizationPolicySpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a5695bce817e05c788f9236c4a44a0cf2f233e6d87f923eb2a204f06e80ca4e0(
    *,
    spec: typing.Union[AuthorizationPolicySpec, typing.Dict[builtins.str, typing.Any]],
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__b5236260c8ce786ca66b492cbc2f26f213046f07c4a0cbdfe4aa3a32bfbdf561(
    *,
    required_authentication_refs: typing.Sequence[typing.Union[AuthorizationPolicySpecRequiredAuthenticationRefs, typing.Dict[builtins.str, typing.Any]]],
    target_ref: typing.Union[AuthorizationPolicySpecTargetRef, typing.Dict[builtins.str, typing.Any]],
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__0160e86ad60ac41a4cb884f27eda25ddb2101d791216e7ebca790b31dab9712f(
    *,
    kind: builtins.str,
    name: builtins.str,
    group: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__bb139d9341653e70164101b95878bf97edd60efdfb0c1d08c7e58f25e251f30c(
    *,
    kind: builtins.str,
    name: builtins.str,
    group: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass
