from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class DataClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_CLASS_UNSPECIFIED: _ClassVar[DataClass]
    DATA_CLASS_OPAQUE_ID: _ClassVar[DataClass]
    DATA_CLASS_BUSINESS_FACT: _ClassVar[DataClass]
    DATA_CLASS_PERSONAL: _ClassVar[DataClass]
DATA_CLASS_UNSPECIFIED: DataClass
DATA_CLASS_OPAQUE_ID: DataClass
DATA_CLASS_BUSINESS_FACT: DataClass
DATA_CLASS_PERSONAL: DataClass
DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
data_class: _descriptor.FieldDescriptor
